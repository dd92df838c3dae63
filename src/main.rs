//! The `corrmc` binary: parses the command line and dispatches to [`corrmc::cli`].
use clap::Parser;

fn main() {
    // Die quietly on a closed pipe (`corrmc seriate --list | head`) like other Unix tools,
    // instead of panicking in println!.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A panic is a bug in corrmc, never the user's fault: say so, say how to report it, and
    // exit with a code distinct from input errors (1) and usage errors (2).
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "corrmc: internal error (a bug in corrmc {}, not in your input): {info}\n\
             Please report it with the exact command line, the spec or input files and the output of \
             `corrmc --version`. Results written so far are kept; `.partial` files are incomplete.",
            env!("CARGO_PKG_VERSION")
        );
        std::process::exit(101);
    }));
    let cli = corrmc::cli::Cli::parse();
    if let Err(e) = corrmc::cli::dispatch(&cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
