mod common;
use common::*;
use vi_emulator::Emulator;
#[test]
fn big_upload() {
    let emu = Emulator::start().unwrap();
    let c = Client::new(&emu);
    let ds = c.create_dataset("big");
    let mut data = vec![0u8; 300 * 1024 * 1024];
    for (i, b) in data.iter_mut().enumerate() { *b = (i % 251) as u8; }
    let t = std::time::Instant::now();
    let s = c.create_session(&ds, &[("big.mp4", &data)], "FailAfterAll");
    c.put_file(&s, "big.mp4", &data).expect(200);
    eprintln!("upload {:?}", t.elapsed());
    let a = &c.assets(&ds)[0];
    let url = c.get(&c.ds(&ds, &format!("/assets/{}?contents=y", a["assetId"].as_str().unwrap()))).expect(200).json()["contents"]["asset"]["url"].as_str().unwrap().to_owned();
    let t = std::time::Instant::now();
    let r = c.get_plain(&url, &[]).expect(200);
    eprintln!("download {:?}", t.elapsed());
    assert_eq!(r.body.len(), data.len());
}
