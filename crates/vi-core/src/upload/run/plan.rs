//! Upload steps 1–3: discover the files, check their names, build their specs, and (with
//! skip-existing) leave out those the dataset already holds.

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
        let mut memory = Vec::new();
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
        // In-memory names share the namespace with files (filename is the asset key).
        let mut taken: HashMap<String, PathBuf> = files
            .iter()
            .map(|f| (f.filename.clone(), f.path.clone()))
            .collect();
        let mut memory_kept = Vec::new();
        for (name, data) in memory {
            if let Some(first) = taken.get(&name) {
                let first = first.clone();
                self.skip(SourceRef::Memory, name, SkipReason::DuplicateName { first });
            } else {
                taken.insert(name.clone(), PathBuf::from(format!("<in memory: {name}>")));
                memory_kept.push((name, data));
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

        let file_count = files.len();
        // Who each candidate is, so that one not examined before a cancellation is still
        // reported.
        let candidates: Vec<(SourceRef, String)> = files
            .iter()
            .map(|f| (SourceRef::File(f.path.clone()), f.filename.clone()))
            .chain(
                memory_kept
                    .iter()
                    .map(|(name, _)| (SourceRef::Memory, name.clone())),
            )
            .collect();
        // Specs on blocking workers, in parallel; results kept in input order.
        let workers = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .min(16);
        let pool = Pool::new(self.core.runtime().clone(), workers);
        let runtime = self.core.runtime().clone();
        let file_jobs = files.into_iter().enumerate().map(|(i, f)| {
            let runtime = runtime.clone();
            async move {
                let source = SourceRef::File(f.path.clone());
                let name = f.filename.clone();
                let spec =
                    run_blocking(runtime.as_ref(), move || spec_for_file(&f.path, f.filename))
                        .await;
                (i, source, name, spec)
            }
        });
        let offset = file_count;
        let memory_jobs = memory_kept
            .into_iter()
            .enumerate()
            .map(|(i, (name, data))| {
                let runtime = runtime.clone();
                let index = offset + i;
                async move {
                    let n = name.clone();
                    let spec =
                        run_blocking(runtime.as_ref(), move || spec_for_bytes(n, data)).await;
                    (index, SourceRef::Memory, name, spec)
                }
            });
        let mut results: Vec<Option<SpecOutcome>> = (0..taken.len()).map(|_| None).collect();
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
            let (i, source, name, spec) = done?;
            let spec = spec?;
            results[i] = Some((source, name, spec));
        }
        for (result, (source, name)) in results.into_iter().zip(candidates) {
            let Some((source, name, spec)) = result else {
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
                    self.planned.push(Planned {
                        spec,
                        source,
                        replaces,
                    });
                }
                Err(reason) => self.skip(source, name, reason),
            }
        }
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
