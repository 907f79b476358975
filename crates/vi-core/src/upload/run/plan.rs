//! Upload steps 1–3: discover the files, check their names, build their specs, and (with
//! skip-existing) leave out those the dataset already holds.

use std::path::Path;

use bytes::Bytes;

use super::*;

impl Upload {
    /// Steps 1–3: discover, check names, build specs.
    pub(super) async fn plan(&mut self, sources: UploadSources) -> Result<()> {
        if sources.is_empty() {
            return Err(Error::invalid(
                "upload sources",
                "nothing to upload; give at least one file, folder or in-memory item",
            ));
        }
        let mut paths = Vec::new();
        let mut memory: Vec<(String, Bytes)> = Vec::new();
        for input in sources.inputs() {
            match input {
                UploadInput::Path(p) => paths.push(p.clone()),
                UploadInput::Bytes { filename, data } => {
                    if filename.trim().is_empty() || filename.contains(['/', '\\', '\0']) {
                        return Err(Error::invalid(
                            "in-memory file name",
                            format!(
                                "{filename:?} must be a plain file name such as photo.jpg (not empty, no '/', '\\' or NUL)"
                            ),
                        ));
                    }
                    memory.push((filename.clone(), data.clone()));
                }
            }
        }
        let discovery = if paths.is_empty() {
            None
        } else {
            Some(run_blocking(self.core.runtime().as_ref(), move || discover(&paths)).await??)
        };
        let mut files: Vec<DiscoveredFile> = Vec::new();
        if let Some(d) = discovery {
            self.ignored_in_folders = d.ignored;
            for (path, reason) in d.skipped {
                self.skip(SourceRef::File(path.clone()), file_name(&path), reason);
            }
            let (kept, duplicates) = dedupe_names(d.files);
            for (path, reason) in duplicates {
                self.skip(SourceRef::File(path.clone()), file_name(&path), reason);
            }
            files = kept;
        }
        // In-memory names share the namespace with files (filename is the asset key). The
        // map borrows the names and paths of `files`, which stays whole until the end:
        // with 100,000 files, every copy of their names and paths costs megabytes.
        let mut taken: HashMap<&str, Option<&Path>> = files
            .iter()
            .map(|f| (f.filename.as_str(), Some(f.path.as_path())))
            .collect();
        let mut memory_kept = Vec::with_capacity(memory.len());
        for (name, data) in &memory {
            if let Some(&first) = taken.get(name.as_str()) {
                let first = first.map_or_else(
                    || PathBuf::from(format!("<in memory: {name}>")),
                    Path::to_path_buf,
                );
                self.skip(
                    SourceRef::Memory,
                    name.clone(),
                    SkipReason::DuplicateName { first },
                );
            } else {
                taken.insert(name, None);
                memory_kept.push((name.clone(), data.clone()));
            }
        }

        // Skip-existing: list the dataset once, before any file is read, keeping only the
        // assets named like one of ours (see `upload::existing`).
        let existing =
            if self.options.skip_existing && !taken.is_empty() && !self.cancel.is_cancelled() {
                let wanted = |name: &str| taken.contains_key(name);
                let listing = Existing::list(&self.core, &self.dataset, &wanted);
                match select(Box::pin(listing), Box::pin(self.cancel.cancelled())).await {
                    Either::Left((existing, _)) => {
                        let existing = existing?;
                        self.assets_listed = Some(existing.listed);
                        Some(existing)
                    }
                    // Cancelled while listing: the spec step below stops at once too.
                    Either::Right(_) => None,
                }
            } else {
                None
            };
        drop(taken);

        // Specs on blocking workers, in parallel; results kept in input order. A job takes
        // its own copy of a name and path only when it starts.
        let workers = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .min(16);
        let pool = Pool::new(self.core.runtime().clone(), workers);
        let runtime = self.core.runtime().clone();
        let file_jobs = files.iter().enumerate().map(|(i, f)| {
            let runtime = runtime.clone();
            let (path, name) = (f.path.clone(), f.filename.clone());
            async move {
                let spec = run_blocking(runtime.as_ref(), move || spec_for_file(path, name)).await;
                (i, spec)
            }
        });
        let offset = files.len();
        let memory_jobs = memory_kept.iter().enumerate().map(|(i, (name, data))| {
            let runtime = runtime.clone();
            let (name, data) = (name.clone(), data.clone());
            async move {
                let spec = run_blocking(runtime.as_ref(), move || spec_for_bytes(name, data)).await;
                (offset + i, spec)
            }
        });
        let mut results: Vec<Option<SpecOutcome>> = Vec::with_capacity(offset + memory_kept.len());
        results.resize_with(offset + memory_kept.len(), || None);
        let mut run = pool.run(
            file_jobs
                .map(futures_util::future::Either::Left)
                .chain(memory_jobs.map(futures_util::future::Either::Right)),
        );
        let mut stopped = false;
        loop {
            // Until cancelled, wait for the next check or the cancellation, whichever first.
            let step = if stopped {
                run.next().await.map(Some)
            } else {
                match select(Box::pin(run.next()), Box::pin(self.cancel.cancelled())).await {
                    Either::Left((next, _)) => next.map(Some),
                    Either::Right(_) => Some(None),
                }
            };
            let done = match step {
                None => break,
                Some(Some(done)) => done,
                Some(None) => {
                    // Cancelled: start no more checks, let the running ones finish.
                    run.stop();
                    stopped = true;
                    continue;
                }
            };
            let (i, spec) = done?;
            results[i] = Some(spec?);
        }
        drop(run);
        // Who each candidate is, for those never examined (a cancellation came first).
        let candidates = files
            .into_iter()
            .map(|f| (SourceRef::File(f.path), f.filename))
            .chain(
                memory_kept
                    .into_iter()
                    .map(|(name, _)| (SourceRef::Memory, name)),
            );
        self.planned.reserve_exact(results.len());
        for (result, (source, name)) in results.into_iter().zip(candidates) {
            let Some(spec) = result else {
                self.cancelled_early.push(FailedFile {
                    source,
                    filename: name,
                    reason: UploadFailure::Cancelled,
                });
                continue;
            };
            match spec {
                Ok(spec) => {
                    let replaces = match existing.as_ref().map(|e| e.compare(&spec)) {
                        Some(Verdict::Present(reason)) => {
                            self.skip(source, name, reason);
                            continue;
                        }
                        Some(Verdict::Changed(asset)) => Some(asset),
                        Some(Verdict::New) | None => None,
                    };
                    if let Some(warning) = spec.size_warning() {
                        tracing::warn!(file = %name, "{warning}");
                    }
                    self.planned.push(Planned { spec, replaces });
                }
                Err(reason) => self.skip(source, name, reason),
            }
        }
        self.planned.shrink_to_fit();
        // Batches are formed as sessions are opened (see `pace`).
        let n = self.planned.len();
        self.states = (0..n).map(|_| FileState::Pending).collect();
        self.file_batch = vec![None; n];
        self.chances = vec![0; n];
        self.queue = (0..n).collect();
        self.options.progress.emit(ProgressEvent::Planned {
            files: self.planned.len() as u64,
            bytes: self.planned.iter().map(|p| p.spec.size).sum(),
        });
        Ok(())
    }

    pub(super) fn skip(&mut self, source: SourceRef, filename: String, reason: SkipReason) {
        let text = reason.to_string();
        self.options.progress.emit(ProgressEvent::FileSkipped {
            name: &filename,
            reason: &text,
        });
        self.skipped.push(SkippedFile {
            source,
            filename,
            reason,
        });
    }
}
