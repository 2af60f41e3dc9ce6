//! The `hedui` binary: parse the command line, call the library, map errors
//! to the exit codes documented in the README.

use std::process::ExitCode;

use clap::Parser;
use hedui::cli::{Cli, Command, LogFormat};
use hedui::config::{self, Config};
use hedui::error::HeduiError;
use hedui::validate;

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(command: Command) -> Result<(), HeduiError> {
    match command {
        Command::ExampleConfig => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Validate {
            input,
            out,
            config,
            as_of,
        } => {
            let config = Config::load(config.as_deref())?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            tracing::info!(input = %input.display(), "validate");
            let v = validate::validate(&input, out.as_deref(), &config, &as_of.to_string());
            print!(
                "{}",
                validate::summary_table(&v.inputs.accounts, &v.inputs.ignored)
            );
            v.outcome
        }
    }
}
