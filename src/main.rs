//! The `hedui` binary: parse the command line, call the library, map errors
//! to the exit codes documented in the README.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use hedui::cli::{Cli, Command, LogFormat, ReviewCommand, StateArgs};
use hedui::config::{self, Config};
use hedui::error::HeduiError;
use hedui::ledger::{list, review};
use hedui::report::mask::{mask_ids_in, mask_label};
use hedui::report::output::{OutputOwner, refuse_target};
use hedui::{evaluate, generate, run, validate};

/// The state folder of `review`, `cases` and `report`: `--state-dir`, else
/// the config's `state_dir`, else (no config given) the one the output
/// folder's manifest names when absolute, else `hedui-state/` beside the output folder
/// `out` (made absolute first), else `hedui-state/` in the current folder.
fn state_folder(args: &StateArgs, out: Option<&Path>) -> Result<PathBuf, HeduiError> {
    let state = find_state_folder(args, out)?;
    // Found in a config or a manifest, not typed: its folders are named in
    // logs and messages as the command line's are.
    register_folder(&state);
    Ok(state)
}

/// See [`state_folder`].
fn find_state_folder(args: &StateArgs, out: Option<&Path>) -> Result<PathBuf, HeduiError> {
    if let Some(dir) = &args.state_dir {
        return Ok(dir.clone());
    }
    // Neither given: the state folder of the run that wrote the output
    // folder, where its config named one (its manifest records it). The
    // default beside the output, while the run's was elsewhere, re-rendered
    // a report without the reviewers' verdicts.
    if args.config.is_none()
        && let Some(out) = out
        && let Some(dir) = hedui::report::rerender::read_manifest(&out.join("manifest.json"))
            .ok()
            .and_then(|m| m.config.state_dir)
            // A relative one was the run's working folder's, unknown here.
            .filter(|dir| dir.is_absolute())
    {
        return Ok(dir);
    }
    let config = Config::load(args.config.as_deref())?;
    Ok(match out {
        Some(out) => {
            let out = std::path::absolute(out)
                .map_err(|e| HeduiError::Input(vec![format!("{}: {e}", out.display())]))?;
            run::state_dir(&config.config, &out)
        }
        None => config
            .config
            .state_dir
            .unwrap_or_else(|| PathBuf::from("hedui-state")),
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| MaskedStderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Standard error for the logs, with every ID number masked
/// ([`mask_ids_in`]): a file or folder named after a person (an input
/// folder `…/341122196805207712/`, a file `低保_341122196805207712.xlsx`)
/// is named in log lines and messages, and nothing hedui prints may hold an
/// ID number in full. The log formatter writes each record in one call.
struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        match std::str::from_utf8(buf) {
            Ok(text) => err.write_all(mask_ids_in(text).as_bytes())?,
            Err(_) => err.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// mimalloc: the read stage allocates and frees a few strings per cell on
/// every thread, which glibc's allocator serves with lock contention and
/// page-fault churn (a quarter of the read's cycles in a profile).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option: `mi_option_t` 15 in the v3 sources that
/// libmimalloc-sys 0.1.49 builds, which leaves it unnamed (a test checks
/// the number against the option's default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory before it gives it back to the
/// system, in milliseconds (its default is 1 s): -1, never. Every stage
/// frees and allocates buffers of hundreds of megabytes (column builders,
/// sorts, joins); given back within a second, each is faulted in and
/// zeroed anew, which took 13–18 of a county run's 90–97 CPU seconds in the
/// kernel. At 10 s the kernel took 10–12 s and the run a few seconds less,
/// for about 5 % more peak memory (BENCHMARKS.md, session 5). A city's
/// stages outlast 10 s, and zeroing pages given back (two megabytes at a
/// time, its tables on disk take huge pages) was still 9 % of its samples:
/// never given back, a city ran 120.2 and 123.3 s against 129.0 and 133.9 s
/// (system time 26–32 s against 34–48 s) for 7.6 GB peak memory against
/// 6.8–7.0; a county's time and peak were unchanged (BENCHMARKS.md,
/// session 59). A run is a batch that ends: what it holds goes with it.
const PURGE_DELAY_MS: std::ffi::c_long = -1;

/// Sets mimalloc's purge delay, unless `MIMALLOC_PURGE_DELAY` in the
/// environment already says what it should be.
fn set_purge_delay() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set is not thread safe; this runs first thing in
        // main, before any other thread exists. It takes any value.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
    }
}

fn main() -> ExitCode {
    owner_only_files();
    set_purge_delay();
    // Off for every command; `run` turns them on when its tables go to disk.
    hedui::memory::huge_pages(false);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    init_logging(cli.log_format);
    let log_format = cli.log_format;
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A log collector reading JSON sees why the run ended too (the
            // message is the one printed below: no full ID or name).
            if log_format == LogFormat::Json {
                tracing::error!(exit_code = e.exit_code(), error = %e, "fatal");
            }
            eprintln!("{}", mask_ids_in(&e.to_string()));
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// A command line clap refused (or help and version asked for): with
/// `--log-format json`, a usage error is logged as the `fatal` record with
/// its exit code (2) too, as every other failure is, before clap prints it.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let help = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
    if help {
        e.exit()
    }
    // What was wrong and with which option, never the value typed (a
    // stray argument may be an ID number or a name).
    let options: Vec<&str> = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => vec![arg.as_str()],
        Some(ContextValue::Strings(args)) => args.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    // An unexpected argument is what was typed: named only when it is an
    // option (`--bogus`). Other errors name the arguments themselves
    // (`--out <OUT>`, `<REPORT>`).
    let options: Vec<&str> = if e.kind() == ErrorKind::UnknownArgument {
        options.into_iter().filter(|a| a.starts_with('-')).collect()
    } else {
        options
    };
    // An option typed is masked as any text in a message: `--` before an
    // ID number or a name is still that number or name.
    let options: Vec<String> = options.into_iter().map(mask_label).collect();
    let options = options.join(" ");
    // `what` and, when one is named, `：option` (`: option` in English).
    let with_options = |what: &str, colon: &str| {
        if options.is_empty() {
            what.to_string()
        } else {
            format!("{what}{colon}{options}")
        }
    };
    // clap reports an option given twice as a conflict with itself.
    let repeated = e.kind() == ErrorKind::ArgumentConflict
        && e.get(ContextKind::PriorArg).is_some()
        && e.get(ContextKind::PriorArg) == e.get(ContextKind::InvalidArg);
    let what = if repeated {
        "参数不能重复使用"
    } else {
        usage_error_zh(e.kind())
    };
    let zh = with_options(&format!("命令行用法错误：{what}"), "：");
    if json_asked(std::env::args_os().skip(1)) {
        init_logging(LogFormat::Json);
        let what = e.kind().as_str().unwrap_or("usage error");
        let error = format!("{zh} / {}", with_options(what, ": "));
        tracing::error!(exit_code = e.exit_code(), error = %error, "fatal");
    }
    // The parser's own message (English) follows, with the usage line;
    // staff read the Chinese line above it.
    eprintln!("{zh}（英文说明见下 / details below）");
    eprint!("{}", without_values_typed(&e));
    std::process::exit(e.exit_code())
}

/// The parser's message with each value typed (a value refused, a stray
/// argument: either may be an ID number or a name) replaced by `…`; the
/// options, the values allowed and the usage line stay.
fn without_values_typed(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut text = e.render().to_string();
    let mut typed: Vec<&str> = Vec::new();
    // An unknown argument's context is what was typed; other errors'
    // InvalidArg is the argument refused (`<REPORT>`), which stays.
    let kinds: &[ContextKind] = if e.kind() == ErrorKind::UnknownArgument {
        &[ContextKind::InvalidValue, ContextKind::InvalidArg]
    } else {
        &[ContextKind::InvalidValue, ContextKind::InvalidSubcommand]
    };
    for &kind in kinds {
        match e.get(kind) {
            Some(ContextValue::String(v)) => typed.push(v),
            Some(ContextValue::Strings(vs)) => typed.extend(vs.iter().map(String::as_str)),
            _ => {}
        }
    }
    // The longest first (a value may hold a shorter one); an option itself
    // (`--bogus`) stays, masked as in the line above it.
    typed.retain(|v| !v.is_empty());
    typed.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in typed {
        text = if v.starts_with('-') {
            // Also where clap's tip quotes it after `-- `.
            text.replace(v, &mask_label(v))
        } else {
            text.replace(&format!("'{v}'"), "'…'")
        };
    }
    text
}

/// What a command line the parser refused got wrong, in Chinese.
fn usage_error_zh(kind: clap::error::ErrorKind) -> &'static str {
    use clap::error::ErrorKind;
    match kind {
        ErrorKind::MissingRequiredArgument => "缺少必需的参数",
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "参数取值无效",
        ErrorKind::UnknownArgument => "无法识别的参数",
        ErrorKind::InvalidSubcommand => "无法识别的子命令",
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "缺少子命令"
        }
        ErrorKind::ArgumentConflict => "参数不能同时使用",
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues => "参数值的个数或写法不对",
        ErrorKind::InvalidUtf8 => "参数不是有效的 UTF-8 文本",
        _ => "参数有误",
    }
}

/// Whether a command line clap could not parse asked for JSON logs.
fn json_asked(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--log-format=json"
            || (a == "--log-format" && args.get(i + 1).is_some_and(|v| v == "json"))
    })
}

/// Everything the process creates is for its owner alone: hedui's own
/// files are made 0600 and folders 0700 anyway, and so are then the query
/// engine's spill folders, which it makes itself (0777 less the umask).
fn owner_only_files() {
    #[cfg(unix)]
    {
        use rustix::fs::Mode;
        let inherited = rustix::process::umask(Mode::from_raw_mode(0o077));
        rustix::process::umask(inherited | Mode::from_raw_mode(0o077));
    }
}

/// Prints to standard output as `print!` does, except that a reader gone
/// away (`hedui cases … | head`) ends the output quietly, as other command
/// line tools do, not with a panic; another failure to write is said on
/// standard error once.
macro_rules! say {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// [`say!`] with a line break after.
macro_rules! sayln {
    ($($arg:tt)*) => {
        write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// See [`say!`].
fn write_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Once a write failed, nothing more is tried (nor said).
    static FAILED: AtomicBool = AtomicBool::new(false);
    if FAILED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) {
        FAILED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("写标准输出失败 / writing to standard output failed: {e}");
        }
    }
}

fn run(command: Command) -> Result<(), HeduiError> {
    register_paths(&command);
    match command {
        Command::ExampleConfig => {
            say!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Run {
            input,
            out,
            config,
            as_of,
            threads,
            unmasked,
            allow_shrink,
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
                allow_shrink,
            };
            register_folder(&run::state_dir(&config.config, &opts.out));
            tracing::info!(input = %opts.input.display(), as_of = %opts.as_of, threads, masked = !unmasked, "run");
            if opts.as_of > chrono::Local::now().date_naive() {
                // Every later night before it would be a past night to the
                // case ledger (README, case_status).
                tracing::warn!(
                    as_of = %opts.as_of,
                    "as-of 日期晚于今天：此后在该日期之前的夜间运行都将被案件台账视为补跑往日 / the as-of date is after today: the case ledger will take every night run before it as a past night"
                );
            }
            let summary = runtime.block_on(run::run(&opts, &config))?;
            sayln!(
                "完成 / done: {} 条发现 findings, {} 条关联 links → {}",
                summary.findings,
                summary.links,
                mask_ids_in(&opts.out.display().to_string())
            );
            for (rule, n) in &summary.manifest.findings_per_rule {
                sayln!("  {rule} {n}");
            }
            if let Some(c) = &summary.manifest.cases {
                sayln!(
                    "  案件 cases: 新增 new {}, 持续 persisting {}, 已核销 dismissed {}, 已消失 disappeared {}",
                    c.new,
                    c.persisting,
                    c.dismissed,
                    c.disappeared
                );
            }
            // What a run did not read, said where staff look: the manifest
            // names them (file names only; a data row never shows here).
            let empty: Vec<&str> = summary
                .manifest
                .inputs
                .iter()
                .filter(|i| i.rows_accepted + i.rows_rejected == 0)
                .map(|i| i.file.as_str())
                .collect();
            if !empty.is_empty() {
                sayln!(
                    "  注意：{} 个文件没有数据行 files without data rows: {}",
                    empty.len(),
                    mask_ids_in(&empty.join(", "))
                );
            }
            // The same file delivered twice (a copy saved beside it): its
            // rows count once, but the staff should know.
            let mut by_content: std::collections::BTreeMap<&str, Vec<&str>> =
                std::collections::BTreeMap::new();
            for i in summary
                .manifest
                .inputs
                .iter()
                .filter(|i| !i.sha256.is_empty())
            {
                by_content.entry(&i.sha256).or_default().push(&i.file);
            }
            for files in by_content.values().filter(|files| files.len() > 1) {
                sayln!(
                    "  注意：{} 个文件内容完全相同（重复交付，其行只计一次）identical files, rows counted once: {}",
                    files.len(),
                    mask_ids_in(&files.join(", "))
                );
            }
            // A workbook's sheets of another type's header: not read.
            for a in &summary.manifest.inputs {
                for note in hedui::report::view::other_type_notes(a, true) {
                    sayln!("  注意：{note}");
                }
            }
            let ignored = &summary.manifest.ignored;
            if !ignored.is_empty() {
                // The first 20, as the reports name them: a folder of scans would
                // fill the screen.
                let shown: Vec<&str> = ignored
                    .iter()
                    .take(hedui::report::view::NOTE_NAMES)
                    .map(String::as_str)
                    .collect();
                let more = match ignored.len() - shown.len() {
                    0 => String::new(),
                    n => format!(" … +{n}"),
                };
                sayln!(
                    "  注意：{} 个文件未读取（见 manifest.json 的 ignored）files not read: {}{more}",
                    ignored.len(),
                    mask_ids_in(&shown.join(", "))
                );
            }
            // What the manifest's problems say of a run that finished: a
            // township standard that matched nothing, rules skipped, a
            // shrink let through.
            for problem in &summary.manifest.problems {
                sayln!("  注意 note：{}", mask_ids_in(problem));
            }
            Ok(())
        }
        Command::Review {
            command:
                ReviewCommand::Import {
                    report,
                    reviewer,
                    state,
                },
        } => {
            // The report lives in the output folder: its parent.
            let report = std::path::absolute(&report)
                .map_err(|e| HeduiError::Input(vec![format!("{}: {e}", report.display())]))?;
            let state = state_folder(&state, report.parent())?;
            tracing::info!(state = %state.display(), "review import");
            let summary = review::import(&state, &report, reviewer.as_deref())?;
            say!("{summary}");
            Ok(())
        }
        Command::Cases {
            state,
            status,
            rule,
            verdict,
            township,
            finding_id,
            history,
            format,
            unmasked,
            out,
        } => {
            let state = state_folder(&state, out.as_deref())?;
            let filter = list::CaseFilter {
                status,
                rule,
                verdict,
                township,
                finding_id,
            };
            if history {
                say!("{}", list::history(&state, &filter, format, unmasked)?);
            } else {
                say!("{}", list::list(&state, &filter, format, unmasked)?);
            }
            Ok(())
        }
        Command::Report {
            out,
            unmasked,
            state,
        } => {
            tracing::info!(out = %out.display(), masked = !unmasked, "report");
            // Pre-filled verdicts keep an import of the new workbook from
            // clearing what reviewers already decided.
            // The disappeared cases come back from the ledger too.
            let named = state.state_dir.is_some() || state.config.is_some();
            let state = state_folder(&state, Some(&out))?;
            // Without the ledger the reports come out with no verdicts. A
            // state folder named on the command line (mistyped, moved) is
            // refused, and not made; one found beside a copied output
            // folder, say, is rendered from, with a warning.
            let no_ledger = !hedui::ledger::ledger_path(&state).exists();
            if no_ledger && !named {
                let shown = mask_ids_in(&state.display().to_string());
                tracing::warn!(state = %shown, "no case ledger: the reports carry no verdicts");
                eprintln!(
                    "注意：{shown} 中没有案件台账，报告不含核查结论与已消失案件 / \
                     note: no case ledger in {shown}: the reports carry no verdicts and no disappeared cases"
                );
            }
            if no_ledger && named {
                return Err(HeduiError::Input(vec![format!(
                    "{} 中没有案件台账，报告无法带上核查结论重新生成；请用 --state-dir / --config 指明该次运行的状态目录 / \
                     no case ledger in {}: the reports cannot be rendered with their verdicts; name the run's state folder with --state-dir / --config",
                    state.display(),
                    state.display()
                )]));
            }
            // A run replaces the output folder when it ends: a report
            // written into it meanwhile would land in the new folder, made
            // from the old findings. It takes the run's lock and the output
            // folder's (exit 6).
            let _lock = hedui::ledger::lock::RunLock::acquire(&state)?;
            let _out_lock = hedui::ledger::lock::RunLock::acquire_output(&out)?;
            let ledger = |gone: &[String]| hedui::ledger::for_report(&state, gone);
            let shown = hedui::report::rerender::rerender(&out, !unmasked, ledger).map_err(
                |e| match e {
                    hedui::report::rerender::RerenderError::Write(e) => {
                        HeduiError::Internal(e.to_string())
                    }
                    hedui::report::rerender::RerenderError::Ledger(e) => e,
                    e => HeduiError::Input(vec![e.to_string()]),
                },
            )?;
            sayln!(
                "完成 / done: report.xlsx, report.html（{shown} 条发现 findings{}）→ {}",
                if unmasked {
                    "，未脱敏 unmasked"
                } else {
                    ""
                },
                mask_ids_in(&out.display().to_string())
            );
            Ok(())
        }
        Command::Generate {
            scale,
            seed,
            as_of,
            out,
        } => {
            if let Some(file) = hedui::report::output::file_on_path(&out) {
                return Err(hedui::report::output::not_a_folder(&file));
            }
            let opts = generate::GenerateOptions {
                scale,
                seed,
                as_of,
                out,
            };
            let summary = generate::generate(&opts).map_err(|e| match e {
                generate::GenerateError::NotGenerated { .. } => HeduiError::Usage(e.to_string()),
                e => HeduiError::Internal(e.to_string()),
            })?;
            say!("{summary}");
            Ok(())
        }
        Command::Evaluate { truth, out } => {
            let evaluation = evaluate::evaluate(&truth, &out)
                .map_err(|e| HeduiError::Input(vec![e.to_string()]))?;
            say!("{evaluation}");
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
            let refused = |out: &Path| refuse_target(out, &input, None, OutputOwner::Validate);
            if let Some(why) = out.as_deref().and_then(refused) {
                return Err(HeduiError::Usage(why));
            }
            // The output folder's lock, held from here: a run that wrote
            // the folder while this one read would be replaced by it. So
            // the folder is judged again under the lock.
            let _out_lock = out
                .as_deref()
                .map(hedui::ledger::lock::RunLock::acquire_output)
                .transpose()?;
            if let Some(why) = out.as_deref().and_then(refused) {
                return Err(HeduiError::Usage(why));
            }
            tracing::info!(input = %input.display(), "validate");
            let v = validate::validate(&input, out.as_deref(), &config, as_of);
            say!(
                "{}",
                // File names are shown as the logs show them.
                mask_ids_in(&validate::summary_table(
                    &v.inputs.accounts,
                    &v.inputs.ignored
                ))
            );
            v.outcome
        }
    }
}

/// Notes the folders and files of every path the command line names (the
/// input, output and state folders, the config, the workbook imported) for
/// the logs and messages to show masked: one may be named after a person.
fn register_paths(command: &Command) {
    fn state(s: &StateArgs) -> [Option<&Path>; 2] {
        [s.state_dir.as_deref(), s.config.as_deref()]
    }
    let paths: Vec<Option<&Path>> = match command {
        Command::Validate {
            input, out, config, ..
        } => vec![Some(input), out.as_deref(), config.as_deref()],
        Command::Run {
            input, out, config, ..
        } => vec![Some(input), Some(out), config.as_deref()],
        Command::Report { out, state: s, .. } => {
            [vec![Some(out.as_path())], state(s).to_vec()].concat()
        }
        Command::Review {
            command: ReviewCommand::Import {
                report, state: s, ..
            },
        } => [vec![Some(report.as_path())], state(s).to_vec()].concat(),
        Command::Cases { state: s, out, .. } => [vec![out.as_deref()], state(s).to_vec()].concat(),
        Command::Generate { out, .. } => vec![Some(out)],
        Command::Evaluate { truth, out } => vec![Some(truth), Some(out)],
        Command::ExampleConfig => Vec::new(),
    };
    for path in paths.into_iter().flatten() {
        register_folder(path);
    }
}

/// Notes the folders of a path (one may be named after a person), as
/// given and made absolute (logs name some folders by their full path),
/// for the logs and messages to show masked
/// ([`hedui::report::mask::register_label`]).
fn register_folder(path: &Path) {
    let absolute = std::path::absolute(path).ok();
    for part in path
        .components()
        .chain(absolute.iter().flat_map(|p| p.components()))
    {
        hedui::report::mask::register_label(&part.as_os_str().to_string_lossy());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The unnamed option number is mimalloc's purge delay: it holds v3's
    /// default for it, 1000 ms (the options around it default to 0 and 1;
    /// a test process never calls set_purge_delay).
    #[test]
    fn option_15_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading an option is a plain load of mimalloc's table.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
