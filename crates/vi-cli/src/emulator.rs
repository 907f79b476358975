//! `dtvi emulator`: the local API emulator in the foreground, with `vi-emulator`'s output.
//! Without the `emulator` feature the command stays (so scripts get a clear answer) and
//! says how to get a build that has it.

#[cfg(feature = "emulator")]
pub use full::run;
#[cfg(not(feature = "emulator"))]
pub use lean::run;

#[cfg(not(feature = "emulator"))]
mod lean {
    use crate::args::{EmulatorArgs, Global};
    use crate::exit::{CliError, Exit};
    use crate::output::Output;

    /// Refuses: this binary was built without the emulator.
    pub fn run(_: EmulatorArgs, _: &Global, _: &Output) -> Result<Exit, CliError> {
        Err(CliError::new(
            Exit::Usage,
            "this dtvi was built without the emulator (cargo feature `emulator`); install \
             it with default features (`cargo install vi-cli`) or run `vi-emulator` instead",
        ))
    }
}

#[cfg(feature = "emulator")]
mod full {

    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Duration;

    use vi_emulator::{Emulator, EmulatorConfig};

    use crate::args::{EmulatorArgs, Global};
    use crate::exit::{CliError, Exit};
    use crate::output::Output;

    /// Runs the emulator until Ctrl-C or SIGTERM.
    ///
    /// stdout: `listening on http://HOST:PORT` first, then the credentials and the lines to
    /// export them (the secret key only when it was generated, not when it was given).
    pub fn run(args: EmulatorArgs, global: &Global, out: &Output) -> Result<Exit, CliError> {
        let key_given = global.secret_key.is_some();
        let temporary = args.data_dir.is_none();
        let config = EmulatorConfig {
            host: args.host,
            port: args.port,
            data_dir: args.data_dir,
            secret_key: global.secret_key.clone(),
            organization_id: global.organization_id.clone(),
            record_to: args.record_to,
            public_url: args.public_url,
            signed_url_ttl: Duration::from_secs(args.signed_url_ttl_secs),
            missing_file_timeout: Duration::from_secs(args.missing_file_timeout_secs),
            ..EmulatorConfig::default()
        };
        // Set up the signal handler first, so a signal right after the banner is not missed.
        let (stop, stopped) = mpsc::channel::<()>();
        if let Err(err) = ctrlc::set_handler(move || {
            let _ = stop.send(());
        }) {
            return Err(CliError::new(
                Exit::Failed,
                format!("cannot wait for Ctrl-C: {err}"),
            ));
        }
        let emulator = Emulator::start_with(config).map_err(|err| {
            CliError::new(
                Exit::Failed,
                format!(
                    "cannot start the emulator: {err}; pick another --port (0 picks a free one) or \
                 check --data-dir"
                ),
            )
        })?;
        print_banner(&emulator, key_given, temporary)?;
        let _ = stopped.recv();
        out.info("stopping the emulator");
        emulator.shutdown();
        Ok(Exit::Success)
    }

    fn print_banner(emulator: &Emulator, key_given: bool, temporary: bool) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", emulator.url())?;
        stdout.flush()?;
        if !key_given {
            writeln!(stdout, "secret key: {}", emulator.secret_key())?;
        }
        writeln!(stdout, "organization id: {}", emulator.organization_id())?;
        if temporary {
            // Said, so nobody looks for the datasets there after the emulator stopped.
            writeln!(
                stdout,
                "data dir: {} (temporary: removed when the emulator stops; --data-dir DIR keeps the data)",
                emulator.data_dir().display()
            )?;
        } else {
            writeln!(stdout, "data dir: {}", emulator.data_dir().display())?;
        }
        writeln!(stdout, "export DATATURE_VI_API_ENDPOINT={}", emulator.url())?;
        if !key_given {
            writeln!(
                stdout,
                "export DATATURE_VI_SECRET_KEY={}",
                emulator.secret_key()
            )?;
        }
        writeln!(
            stdout,
            "export DATATURE_VI_ORGANIZATION_ID={}",
            emulator.organization_id()
        )?;
        stdout.flush()?;
        Ok(())
    }
}
