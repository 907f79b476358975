#!/usr/bin/env python3
# Times asset listing pages of a seeded emulator: first page, and a page near the end
# (reached by walking with keyset tokens), median of N requests on one connection.
import http.client, json, sys, time, urllib.parse, statistics
host, port, key, org, dsc = sys.argv[1:6]
size = int(sys.argv[6]) if len(sys.argv) > 6 else 100
conn = http.client.HTTPConnection(host, int(port))
H = {"Authorization": f"Bearer {key}", "Organization-Id": org}
base = f"/workspaces/{org}/datasets/{dsc}/assets"
def get(q):
    conn.request("GET", base + "?" + q, headers=H)
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body[:200])
    return json.loads(body)
def timed(q, n=50):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); get(q); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000, min(ts) * 1000
total = json.loads((conn.request("GET", base + ":count", headers=H), conn.getresponse().read())[1])["count"]
print("assets", total)
# Walk to ~90% with big pages (s=999; the token does not depend on s).
t0 = time.perf_counter(); token = None; seen = 0
while seen < total * 0.9:
    q = "s=999" + ("&p=" + urllib.parse.quote(token) if token else "")
    page = get(q); seen += len(page["items"]); token = page["nextPage"]
print(f"walked {seen} assets in {time.perf_counter()-t0:.1f} s")
near_end = "p=" + urllib.parse.quote(token)
first = timed(f"s={size}")
end = timed(f"s={size}&{near_end}")
print(f"page of {size}, offset 0: median {first[0]:.2f} ms (min {first[1]:.2f})")
print(f"page of {size}, offset {seen}: median {end[0]:.2f} ms (min {end[1]:.2f})")
for sort in ["filename", "metadata.fileSize"]:
    print(sort, "desc first page: median %.2f ms" % timed(f"s={size}&sortBy={sort}&o=desc")[0])
