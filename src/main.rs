//! The `hedui` binary: parse the command line, call the library, map errors
//! to the exit codes documented in the README.

use std::process::ExitCode;

use clap::Parser;
use hedui::cli::{Cli, Command, LogFormat};
use hedui::config::{self, Config};
use hedui::error::HeduiError;
use hedui::{evaluate, generate, run, validate};

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
        Command::Run {
            input,
            out,
            config,
            as_of,
            threads,
            unmasked,
        } => {
            let config = Config::load(config.as_deref())?;
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            // One --threads sizes both the rayon pool and DataFusion's partitions.
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build_global()
                .map_err(|e| HeduiError::Internal(e.to_string()))?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .map_err(|e| HeduiError::Internal(e.to_string()))?;
            let opts = run::RunOptions {
                input,
                out,
                as_of: as_of.unwrap_or_else(|| chrono::Local::now().date_naive()),
                threads,
                masked: !unmasked,
            };
            tracing::info!(input = %opts.input.display(), as_of = %opts.as_of, threads, masked = !unmasked, "run");
            let summary = runtime.block_on(run::run(&opts, &config))?;
            println!(
                "完成 / done: {} 条发现 findings, {} 条关联 links → {}",
                summary.findings,
                summary.links,
                opts.out.display()
            );
            for (rule, n) in &summary.manifest.findings_per_rule {
                println!("  {rule} {n}");
            }
            Ok(())
        }
        Command::Report { out, unmasked } => {
            tracing::info!(out = %out.display(), masked = !unmasked, "report");
            let shown =
                hedui::report::rerender::rerender(&out, !unmasked).map_err(|e| match e {
                    hedui::report::rerender::RerenderError::Write(e) => {
                        HeduiError::Internal(e.to_string())
                    }
                    e => HeduiError::Input(vec![e.to_string()]),
                })?;
            println!(
                "完成 / done: report.xlsx, report.html（{shown} 条发现 findings{}）→ {}",
                if unmasked {
                    "，未脱敏 unmasked"
                } else {
                    ""
                },
                out.display()
            );
            Ok(())
        }
        Command::Generate {
            scale,
            seed,
            as_of,
            out,
        } => {
            let opts = generate::GenerateOptions {
                scale,
                seed,
                as_of,
                out,
            };
            let summary =
                generate::generate(&opts).map_err(|e| HeduiError::Internal(e.to_string()))?;
            print!("{summary}");
            Ok(())
        }
        Command::Evaluate { truth, out } => {
            let evaluation = evaluate::evaluate(&truth, &out)
                .map_err(|e| HeduiError::Input(vec![e.to_string()]))?;
            print!("{evaluation}");
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
