//! Ctrl-C: the first press cancels the running transfer cleanly, the second quits at once.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use vi_blocking::CancelToken;

use crate::progress::TransferBars;

/// Installs the Ctrl-C (and SIGTERM) handler for a transfer and returns the token it fires.
/// When the handler cannot be installed the transfer still runs, just not cancellably.
pub fn cancel_on_ctrl_c(bars: Option<TransferBars>) -> CancelToken {
    let token = CancelToken::new();
    let fire = token.clone();
    let presses = AtomicUsize::new(0);
    let installed = ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            let message = "cancelling… (press Ctrl-C again to force quit)";
            match &bars {
                Some(bars) => bars.println(message),
                None => {
                    let _ = writeln!(std::io::stderr(), "{message}");
                }
            }
            fire.cancel();
        } else {
            std::process::exit(130);
        }
    });
    if let Err(err) = installed {
        tracing::warn!("cannot install the Ctrl-C handler: {err}");
    }
    token
}
