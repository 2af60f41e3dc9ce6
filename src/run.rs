//! `hedui run`: the nightly job, one straight path — read the batch, resolve
//! every person, evaluate every rule, write the outputs — with stage timings
//! for the manifest. Outputs are staged and swapped into place only when
//! complete; a failed or stopped run leaves the previous output untouched and
//! records its manifest in the state folder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use rayon::prelude::*;

use crate::attach;
use crate::config::{Config, LoadedConfig};
use crate::engine;
use crate::error::HeduiError;
use crate::input::{self, Inputs};
use crate::ledger::{self, Cases, Prior, lock::RunLock};
use crate::progress::Stages;
use crate::report::conflicts::LinkedRow;
use crate::report::direct::OutputFile;
use crate::report::findings::{self, FindingRow};
use crate::report::manifest::Manifest;
use crate::report::mask::quote_raw;
use crate::report::output::{
    OutputOwner, StagedOutput, create_private_dir, refuse_target, write_private,
};
use crate::report::{self, parquet, rejects, view, warnings};
use crate::resolve::{self, Resolution};
use crate::rules::{self, Finding, RuleParams};
use crate::validate::reject_rate_problems;

/// What `hedui run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: PathBuf,
    pub out: PathBuf,
    pub as_of: NaiveDate,
    pub threads: usize,
    /// Mask ID numbers and names in report.xlsx and report.html.
    pub masked: bool,
    /// Let a run through whose extracts shrank past `input.max_shrink`.
    pub allow_shrink: bool,
}

/// What a completed run produced, for the caller to print.
#[derive(Debug)]
pub struct RunSummary {
    pub manifest: Manifest,
    pub findings: usize,
    pub links: usize,
}

/// The state folder: the config's `state_dir`, else `hedui-state/` beside
/// the output folder.
pub fn state_dir(config: &Config, out: &Path) -> PathBuf {
    config.state_dir.clone().unwrap_or_else(|| {
        out.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("hedui-state")
    })
}

fn fen(yuan: f64) -> i64 {
    (yuan * 100.0).round() as i64
}

fn ratio(value: f64, scale: f64) -> i64 {
    (value * scale).round() as i64
}

/// The rule thresholds of a config, in the exact units the rules compare in.
pub fn rule_params(config: &Config, as_of: NaiveDate) -> RuleParams {
    let r = &config.rules;
    RuleParams {
        as_of,
        standard_fen: fen(r.standard),
        township_standard_fen: r
            .township_standard
            .iter()
            // As the roster's cells hold the name (the config's check
            // refused an empty one and two of one name).
            .map(|(t, v)| {
                let name = crate::extract::table::canonical_text(t).unwrap_or_default();
                (name, fen(*v))
            })
            .collect(),
        income_factor_permille: ratio(r.income_factor, 1000.0),
        income_factor_low_income_permille: ratio(r.income_factor_low_income, 1000.0),
        max_homes: i64::from(r.max_homes),
        oop_threshold_fen: fen(r.oop_threshold),
        dangerous_grades: r.dangerous_grades.clone(),
        unemployed_months: i64::from(r.unemployed_months),
        floor_bp: ratio(r.reimbursement_floor, 10000.0),
        floor_low_income_bp: ratio(r.reimbursement_floor_low_income, 10000.0),
        declared_margin_bp: ratio(r.declared_income_margin, 10000.0),
    }
}

fn internal(e: impl std::fmt::Display) -> HeduiError {
    HeduiError::Internal(explain(&e.to_string()))
}

/// An engine error with what to do about it, where there is something to do.
fn explain(text: &str) -> String {
    if text.contains("Resources exhausted") {
        format!(
            "查询引擎超出内存上限：请调高配置 [engine] memory_limit_mb，或释放内存 / \
             the query engine ran out of its memory limit: raise [engine] memory_limit_mb \
             in the config, or free memory ({text})"
        )
    } else {
        text.to_string()
    }
}

/// Runs the whole job.
pub async fn run(opts: &RunOptions, config: &LoadedConfig) -> Result<RunSummary, HeduiError> {
    // One run at a time, for the whole run.
    let state = state_dir(&config.config, &opts.out);
    if let Some(why) = refuse_target(&opts.out, &opts.input, Some(&state), OutputOwner::Run) {
        return Err(HeduiError::Usage(why));
    }
    let _lock = RunLock::acquire(&state)?;
    // And one writer of the output folder, whatever its state folder.
    let _out_lock = RunLock::acquire_output(&opts.out)?;
    // The ledger's cases are read beside the inputs: they are needed once
    // the inputs are in.
    let prior = std::thread::spawn({
        let state = state.clone();
        let as_of = opts.as_of;
        move || {
            let start = std::time::Instant::now();
            let prior = Prior::load(&state).map(|p| p.for_as_of(as_of));
            tracing::debug!(seconds = start.elapsed().as_secs_f64(), "ledger read");
            prior
        }
    });
    let mut stages = Stages::new();
    stages.start("read");
    // A swap that an earlier run was killed in the middle of is finished or
    // undone first, so that even a run that fails below leaves the previous
    // output in place rather than set aside.
    crate::report::output::recover(&opts.out)?;
    // A batch larger than memory is held on disk, in a work folder of the
    // state folder that only this run (it holds the lock) uses; one that a
    // killed run left behind is removed first.
    let work = state.join("work");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let input_bytes = input_size(&opts.input);
    let available = crate::memory::available();
    let disk = config
        .config
        .engine
        .on_disk(input_bytes, available)
        .then(|| engine::DiskTables {
            dir: work.clone(),
            memory_limit: usize::try_from(config.config.engine.memory_limit_mb << 20)
                .unwrap_or(usize::MAX),
        });
    let small = config.config.engine.is_small(input_bytes);
    let huge_pages = crate::memory::huge_pages(disk.is_some());
    tracing::info!(
        input_mb = input_bytes >> 20,
        available_mb = available.map(|a| a >> 20),
        tables = if disk.is_some() { "disk" } else { "memory" },
        small,
        huge_pages,
        "engine"
    );
    let peak = crate::memory::in_memory_peak(input_bytes);
    if disk.is_none()
        && let Some(a) = available
        && peak > a
    {
        tracing::warn!(
            needs_mb = peak >> 20,
            available_mb = a >> 20,
            "tables held in memory as configured (tables = \"memory\"), though they may need \
             more memory than is available: the run may be stopped for lack of memory"
        );
    }
    if config.config.engine.check_free_disk {
        let needs = crate::space::needs(
            input_bytes,
            &opts.out,
            disk.as_ref().map(|d| d.dir.as_path()),
        );
        let short = crate::space::shortfalls(&needs, crate::space::free_at);
        if !short.is_empty() {
            return Err(HeduiError::Gate(short));
        }
    }
    // The session owns the work folder: it goes when the session does.
    let ctx = engine::session_with(opts.threads, disk.as_ref()).map_err(internal)?;
    if small {
        engine::mark_small_input(&ctx);
    }
    let mut inputs = match &disk {
        Some(d) => input::load_to_disk(
            &opts.input,
            &config.config,
            opts.as_of,
            &d.dir.join(INPUT_DIR),
        ),
        None => input::load(&opts.input, &config.config, opts.as_of),
    };
    stages.end();
    tracing::info!(
        files = inputs.accounts.len(),
        rows_accepted = inputs.accounts.iter().map(|a| a.rows_accepted).sum::<u64>(),
        rejected = inputs.rejects.len(),
        "read"
    );
    let mut manifest = Manifest {
        tool: "hedui",
        version: env!("CARGO_PKG_VERSION"),
        command: "run".to_string(),
        as_of: opts.as_of.to_string(),
        config_sha256: config.sha256.clone(),
        config: config.config.clone(),
        inputs: inputs.accounts.clone(),
        ignored: inputs.ignored.clone(),
        missing_optional: inputs
            .missing_optional
            .iter()
            .map(|s| s.to_string())
            .collect(),
        stages: Vec::new(),
        findings_per_rule: BTreeMap::new(),
        status: "ok".to_string(),
        problems: inputs.notes.clone(),
        masked: opts.masked,
        allow_shrink: opts.allow_shrink,
        cases: None,
        disappeared_cases: Vec::new(),
    };
    let mut prior = prior
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    if !inputs.problems.is_empty() {
        let err = HeduiError::Input(inputs.problems.iter().map(|p| p.message.clone()).collect());
        return Err(stop_run(
            &state,
            &mut manifest,
            &stages,
            &inputs,
            "failed",
            err,
        ));
    }

    let mut names: Vec<&'static str> = inputs.tables.keys().copied().collect();
    names.extend(inputs.on_disk.keys().copied());
    names.sort_unstable();
    // The tables move into the session: once persons are attached it holds
    // new ones, and the old ones must not outlive it here.
    for (name, batches) in std::mem::take(&mut inputs.tables) {
        let def = crate::extract::by_name(name).expect("extract names come from the table");
        let schema = crate::extract::table::schema(def);
        engine::register_batches(&ctx, name, schema, batches).map_err(internal)?;
    }
    let mut on_disk = Vec::new();
    for (name, table) in std::mem::take(&mut inputs.on_disk) {
        attach::register_disk_extract(&ctx, name, &table)
            .await
            .map_err(internal)?;
        on_disk.push((name, table));
    }
    // On disk each extract's rows are read from its work files as the read
    // stage wrote them: resolution's views over them do not need the rows a
    // later one replaces marked (which the extract's own view looks up).
    let sources: Vec<(&str, String)> = names
        .iter()
        .map(|&n| {
            let on_disk = on_disk.iter().any(|(d, _)| *d == n);
            (
                n,
                if on_disk {
                    attach::rows_table(n)
                } else {
                    n.to_string()
                },
            )
        })
        .collect();
    let sources: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (*n, t.as_str())).collect();

    // The gates. A batch of another place than the ledger's (its roster
    // shares almost no one with the last run's: a test batch, another
    // county) is run as if there were no ledger; it leaves the ledger as it
    // is, or takes over one of a single night (a trial's).
    let roster_keys = match sources.iter().find(|(name, _)| *name == "roster") {
        Some((_, table)) => roster_keys(&ctx, table).await.map_err(internal)?,
        None => Vec::new(),
    };
    let unrelated = prior.unrelated_roster(&roster_keys);
    let shrink = match &unrelated {
        Some(u) => {
            tracing::warn!(problem = %u.note, "batch of another place than the ledger's");
            manifest.problems.push(u.note.clone());
            prior = Prior::default().for_as_of(opts.as_of);
            Vec::new()
        }
        None => prior.shrink_problems(&inputs.accounts, config.config.input.max_shrink),
    };
    let mut gate = reject_rate_problems(&inputs.accounts, config.config.input.max_reject_rate);
    if !opts.allow_shrink {
        gate.extend(shrink.iter().map(|line| {
            format!(
                "{line}；确认无误可加 --allow-shrink 重新运行 / if this is right, rerun with --allow-shrink"
            )
        }));
    }
    if !gate.is_empty() {
        let err = HeduiError::Gate(gate);
        return Err(stop_run(
            &state,
            &mut manifest,
            &stages,
            &inputs,
            "stopped",
            err,
        ));
    }
    for line in &shrink {
        tracing::warn!(problem = %line, "shrink allowed");
        manifest.problems.push(format!(
            "已用 --allow-shrink 放行 / let through by --allow-shrink: {line}"
        ));
    }

    stages.start("resolve");
    let resolution = resolve::resolve_reading(&ctx, &sources)
        .await
        .map_err(internal)?;
    // A repaired row keys under its person: the conflicts that makes,
    // found for the extracts side by side.
    let start = std::time::Instant::now();
    let with_repairs = resolve::rekey::register_repaired_rows(&ctx)
        .await
        .map_err(internal)?;
    let found = futures::future::try_join_all(sources.iter().map(|&(name, source)| {
        let def = crate::extract::by_name(name).expect("extract names come from the table");
        let (ctx, existing, dups) = (&ctx, inputs.conflicts.get(name), inputs.dups.get(name));
        let with_repairs = &with_repairs;
        async move {
            let existing = existing.map_or(&[][..], Vec::as_slice);
            let dups = dups.map_or(&[][..], Vec::as_slice);
            let found = resolve::rekey::repaired_key_conflicts(
                ctx,
                def,
                source,
                existing,
                dups,
                with_repairs,
            )
            .await?;
            attach::mark_superseded(ctx, name, &found.superseded, &found.restored).await?;
            Ok::<_, datafusion::error::DataFusionError>((name, found))
        }
    }))
    .await
    .map_err(internal)?;
    engine::drop_tables(&ctx, &[resolve::rekey::REPAIRED_ROWS]).map_err(internal)?;
    for (name, found) in found {
        add_conflicts(&mut inputs, &mut manifest, name, found.dropped, found.pairs);
    }
    tracing::debug!(
        seconds = start.elapsed().as_secs_f64(),
        "repaired rows keyed"
    );
    let start = std::time::Instant::now();
    let in_memory: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !on_disk.iter().any(|(d, _)| d == n))
        .collect();
    attach::attach_persons(&ctx, &in_memory)
        .await
        .map_err(internal)?;
    // An extract's other resolved IDs (those not linked directly) are
    // indexed in memory while they fit in
    // half the engine's memory limit, those of the extracts attached at
    // once in the whole: the engine's pool is idle while their rows are
    // attached (at a city the run's peak memory comes later, in the write
    // stage, at some 11–12 GB, the ledger's cache included, against 3 GB here).
    let memory_limit = disk.as_ref().map_or(0, |d| d.memory_limit as u64);
    attach::attach_all_beside(&ctx, on_disk, memory_limit / 2, memory_limit, opts.threads)
        .await
        .map_err(internal)?;
    tracing::debug!(seconds = start.elapsed().as_secs_f64(), "persons attached");
    stages.end();
    tracing::info!(links = resolution.links, "resolved");

    stages.start("rules");

    let params = rule_params(&config.config, opts.as_of);
    let (rule_findings, skipped) = rules::evaluate(&ctx, &params).await.map_err(internal)?;
    if names.contains(&"roster") {
        let conflicts = crate::household::conflicts(&ctx).await.map_err(internal)?;
        add_household_conflicts(&mut inputs, &mut manifest, conflicts);
    }
    let start = std::time::Instant::now();
    let mut rows = finding_rows(
        &ctx,
        &config.config,
        rule_findings,
        &resolution,
        &inputs.repeats,
    )
    .await
    .map_err(internal)?;
    tracing::debug!(seconds = start.elapsed().as_secs_f64(), "finding rows made");
    step_timed("findings sorted", || findings::sort(&mut rows));
    // Each finding's case status from the ledger, and the cases gone since.
    let cases = step_timed("case statuses found", || {
        Cases::classify_skipping(&prior, &mut rows, &skipped)
    })?;
    manifest.cases = Some(cases.counts);
    manifest.disappeared_cases = cases
        .disappeared
        .iter()
        .map(|r| r.finding_id.clone())
        .collect();
    stages.end();
    tracing::info!(
        findings = rows.len(),
        new = cases.counts.new,
        persisting = cases.counts.persisting,
        dismissed = cases.counts.dismissed,
        disappeared = cases.counts.disappeared,
        "rules"
    );
    for township in unused_township_standards(&ctx, &params)
        .await
        .map_err(internal)?
    {
        tracing::warn!(township = %township, "township standard matches no township");
        manifest.problems.push(format!(
            "乡镇标准「{township}」未匹配名册或住房鉴定中的任何乡镇，未被使用 / \
             rules.township_standard.{township} matches no township of the roster or the \
             housing extract and was not used"
        ));
    }
    if !skipped.is_empty() {
        manifest.problems.push(format!(
            "因缺少可选抽取而跳过的规则 / rules skipped for a missing optional extract: {}",
            skipped.join(", ")
        ));
    }
    // Every rule that ran, with its count (0 too: a rule that found nothing
    // is not one that was skipped, which the problems name).
    for info in rules::RULES {
        if !skipped.contains(&info.code) {
            manifest.findings_per_rule.insert(info.code.to_string(), 0);
        }
    }
    for r in &rows {
        *manifest
            .findings_per_rule
            .entry(r.rule.clone())
            .or_default() += 1;
    }

    stages.start("write");
    // The extracts' tables go. Their rows' work files stay while the
    // resolved rows read from them are still to be written to the links
    // files: those of the roster (no links) go now, the others' each once
    // its links are written (pump_links).
    let input_dir = disk.as_ref().map(|d| d.dir.join(INPUT_DIR));
    // In memory an extract's links are its table's own columns, held here
    // while the table and the views over it go; on disk they are its work
    // files' columns, read in order by pump_links (from the views only
    // when the persons are not beside them).
    let mut ready = BTreeMap::new();
    for &name in names.iter().filter(|&&n| n != "roster") {
        if let Some(batches) = attach::held_links(&ctx, name).await.map_err(internal)? {
            ready.insert(name, ReadyLinks::Held(batches));
        } else if let Some(links) = attach::disk_links(&ctx, name).await.map_err(internal)? {
            ready.insert(name, ReadyLinks::OnDisk(links));
        } else {
            continue;
        }
        let views = [
            resolve::tables::resolved_ids_of(name),
            resolve::tables::linked_of(name),
        ];
        engine::drop_tables(&ctx, &[&views[0], &views[1]]).map_err(internal)?;
    }
    attach::drop_extracts(&ctx, &names).map_err(internal)?;
    resolve::drop_whole_views(&ctx).map_err(internal)?;
    let roster_ids = resolve::tables::resolved_ids_of("roster");
    let roster_linked = resolve::tables::linked_of("roster");
    engine::drop_tables_and(
        &ctx,
        &[&roster_ids, &roster_linked],
        input_dir.iter().map(|d| d.join("roster")).collect(),
    )
    .map_err(internal)?;
    let staged = StagedOutput::begin(&opts.out)?;
    // What report.xlsx and report.html are written from.
    let people = cases.people_report(&manifest, &rows, opts.masked);
    // links.csv and links.parquet are written from the links table in order,
    // a batch at a time: a pump task takes each extract's links in turn (by
    // name, each by `_ord`: held in order in memory, else ordered from its
    // view) and hands the batches to both writers.
    let link_extracts: Vec<(&'static str, u64)> = names
        .iter()
        .copied()
        // The roster's rows are the persons, not links (resolve::links).
        .filter(|&n| n != "roster")
        .map(|n| {
            let rows = inputs.accounts.iter().filter(|a| a.extract == n);
            (n, rows.map(|a| a.rows_accepted).sum())
        })
        .collect();
    // On disk an extract's links are ordered in memory while they fit in
    // the engine's memory limit; in memory they are there already.
    let memory_rows = disk
        .as_ref()
        .map_or(u64::MAX, |d| d.memory_limit as u64 / LINK_ROW_BYTES);
    // Both links files are written from the same batches, cut to a fixed
    // size (see LINK_BATCH_ROWS) and cast to links.csv's columns.
    let (csv_tx, csv_rx) = std::sync::mpsc::sync_channel::<Result<RecordBatch, String>>(4);
    let (pq_tx, pq_rx) = std::sync::mpsc::sync_channel::<Result<RecordBatch, String>>(4);
    // The rows in record-key conflicts are named in conflicts.csv as their
    // links name them: the pump picks them out on the way.
    let pump = tokio::spawn({
        let ctx = ctx.clone();
        let conflicts = inputs.conflicts.clone();
        let link_extracts = link_extracts.clone();
        async move {
            let send = |batch: Result<RecordBatch, String>| {
                csv_tx.send(batch.clone()).is_ok() & pq_tx.send(batch).is_ok()
            };
            let input_dir = input_dir.as_deref();
            let pumped = pump_links(
                &ctx,
                &link_extracts,
                ready,
                &conflicts,
                memory_rows,
                input_dir,
                &send,
            );
            pumped.await.unwrap_or_else(|e| {
                send(Err(e));
                Picked::new()
            })
        }
    });
    let csv_rx = std::sync::Mutex::new(Some(csv_rx));
    let pq_rx = std::sync::Mutex::new(Some(pq_rx));
    let take = |rx: &std::sync::Mutex<Option<std::sync::mpsc::Receiver<_>>>| {
        rx.lock()
            .expect("a links channel is taken once")
            .take()
            .expect("each links writer runs once")
    };
    let links_csv = || write_output(&staged, "links.csv", |f| write_links_csv(f, take(&csv_rx)));
    let links_parquet = || {
        write_output(&staged, "links.parquet", |f| {
            write_links_parquet(f, take(&pq_rx))
        })
    };
    // The files are independent: written side by side. The two links files
    // each have a thread of their own, since the pump feeds them together
    // (one that waited for the other's turn would stop both); the others
    // share the pool, in groups written one file after the other: the two
    // people reports are each large at city scale (2–3 GB while written),
    // and beside the links' sort they are not held at once.
    let writers: [&[(&str, &Writer)]; 4] = [
        &[
            ("report.xlsx", &|| {
                view::write_staged_xlsx(&staged, &people).map_err(internal)
            }),
            ("report.html", &|| {
                view::write_staged_html(&staged, &people).map_err(internal)
            }),
        ],
        &[("findings.csv", &|| {
            write_output(&staged, "findings.csv", |f| {
                Ok(findings::write_csv(f, &rows)?)
            })
        })],
        &[("findings.parquet", &|| {
            write_output(&staged, "findings.parquet", |f| {
                parquet::write(f, &findings::to_batch(&rows)).map_err(internal)
            })
        })],
        &[
            ("rejects.csv", &|| {
                write_output(&staged, "rejects.csv", |f| {
                    Ok(rejects::write(f, &inputs.rejects)?)
                })
            }),
            ("warnings.csv", &|| {
                Ok(warnings::write(
                    staged.create("warnings.csv")?,
                    &inputs.warnings,
                )?)
            }),
        ],
    ];
    let timed = |file: &str, write: &Writer| {
        let start = std::time::Instant::now();
        let result = write();
        tracing::debug!(
            file = file,
            seconds = start.elapsed().as_secs_f64(),
            "written"
        );
        result
    };
    let volumes = ledger::volumes(&inputs.accounts);
    let takes_over = unrelated.as_ref().map(|u| u.takes_over);
    let stage_ledger = || match takes_over {
        Some(false) => Ok(None),
        _ => step_timed("ledger staged", || {
            let fresh = takes_over.is_some();
            ledger::stage(
                &state,
                opts.as_of,
                &rows,
                &cases,
                &volumes,
                &roster_keys,
                fresh,
            )
            .map(Some)
        }),
    };
    // The pump runs on the engine's runtime while this thread writes. The
    // run's ledger changes are written beside the files, in a transaction
    // committed once the output is in place (at a city, 9 s of SQLite on
    // one core that came after the files).
    let (results, staged_ledger) = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let ledger = scope.spawn(stage_ledger);
            let links = [
                scope.spawn(|| timed("links.csv", &links_csv)),
                scope.spawn(|| timed("links.parquet", &links_parquet)),
            ];
            let mut results: Vec<Result<(), HeduiError>> = writers
                .par_iter()
                .flat_map_iter(|group| group.iter().map(|(file, write)| timed(file, write)))
                .collect();
            for handle in links {
                results.push(joined(handle));
            }
            (results, joined(ledger))
        })
    });
    let picked = pump.await.map_err(internal)?;
    results.into_iter().collect::<Result<(), HeduiError>>()?;
    write_output(&staged, "conflicts.csv", |f| {
        write_conflicts(f, &link_extracts, &inputs.conflicts, &picked)
    })?;
    // A ledger that could not take the run's changes fails the run before
    // its output replaces the last one's, which the ledger records.
    let staged_ledger = staged_ledger?;
    stages.end();
    manifest.stages = stages.list();
    let mut m = staged.create("manifest.json")?;
    m.write_all(manifest.to_json().as_bytes())?;
    m.flush()?;
    drop(m);
    staged.commit()?;
    // Only a run whose output is in place is recorded in the ledger. The
    // session goes beside the commit: on disk, removing its work folder
    // (tens of gigabytes at a city) takes seconds.
    std::thread::scope(|scope| {
        scope.spawn(move || step_timed("session closed", move || drop(ctx)));
        step_timed("ledger commit", || {
            staged_ledger.map_or(Ok(()), ledger::Staged::commit)
        })
    })?;
    Ok(RunSummary {
        findings: rows.len(),
        links: resolution.links as usize,
        manifest,
    })
}

/// Replaces conflicts of extract `name` after the read: `dropped` pairs
/// (replaced row, later row) go, `pairs` come, each counted on its later
/// row's file in the inputs' accounts and the manifest's; conflicts.csv
/// lists them in order of the later row.
fn add_conflicts(
    inputs: &mut input::Inputs,
    manifest: &mut Manifest,
    name: &'static str,
    dropped: Vec<(u64, u64)>,
    pairs: Vec<(u64, u64)>,
) {
    if pairs.is_empty() && dropped.is_empty() {
        return;
    }
    let accounts = inputs.ord_accounts.get(name);
    let all = inputs.conflicts.entry(name).or_default();
    all.retain(|p| dropped.binary_search(p).is_err());
    all.extend(pairs.iter().copied());
    all.sort_unstable_by_key(|&(earlier, later)| (later, earlier));
    let counted = dropped
        .iter()
        .map(|&p| (p, -1))
        .chain(pairs.iter().map(|&p| (p, 1)));
    for ((_, later), by) in counted {
        let file = crate::extract::table::split_ord(later).0;
        if let Some(&a) = accounts.and_then(|a| a.get(&file)) {
            let add = |n: &mut u64| *n = n.saturating_add_signed(by);
            add(&mut inputs.accounts[a].rows_conflict);
            add(&mut manifest.inputs[a].rows_conflict);
        }
    }
}

/// Lists the roster's household values that disagree with the value their
/// household took ([`crate::household`]) as warnings: each counted on its
/// row's file in the inputs' accounts and the manifest's (as
/// `household_conflict:field`), and the first [`input::WARNINGS_LISTED`] of
/// each field of a file listed in warnings.csv, after the values that could
/// not be read.
fn add_household_conflicts(
    inputs: &mut input::Inputs,
    manifest: &mut Manifest,
    conflicts: Vec<crate::household::Conflict>,
) {
    let accounts = inputs.ord_accounts.get("roster");
    let mut listed: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for c in conflicts {
        let file = crate::extract::table::split_ord(c.ord).0;
        let Some(&a) = accounts.and_then(|a| a.get(&file)) else {
            continue;
        };
        let key = format!("{}:{}", crate::household::CODE, c.field);
        *inputs.accounts[a].warnings.entry(key.clone()).or_default() += 1;
        *manifest.inputs[a].warnings.entry(key).or_default() += 1;
        let n = listed.entry((a, c.field)).or_default();
        if *n < input::WARNINGS_LISTED {
            *n += 1;
            inputs.warnings.push(input::WarningRow {
                extract: "roster",
                reason: c.reason(),
                file: c.file,
                row: c.row,
                field: c.header,
                field_name: c.field,
                code: crate::household::CODE,
                value: c.value,
            });
        }
    }
}

/// The folder of a session on disk that the read stage writes the
/// extracts' work files to.
const INPUT_DIR: &str = "input";

/// Runs `f`, logging at debug level how long it took under `what`.
fn step_timed<T>(what: &'static str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    tracing::debug!(seconds = start.elapsed().as_secs_f64(), "{what}");
    out
}

/// What a scoped thread returned, its panic resumed here.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// One output file's writer, run beside the others.
type Writer<'a> = dyn Fn() -> Result<(), HeduiError> + Sync + 'a;

/// The bytes of the files of a batch folder (what decides memory or disk).
fn input_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| std::fs::metadata(e.path()).ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A run that cannot go on (`status` failed or stopped): its manifest
/// says why and is kept, with the rejects, in the state folder
/// ([`record_unfinished_run`]); the error to return.
fn stop_run(
    state: &Path,
    manifest: &mut Manifest,
    stages: &Stages,
    inputs: &Inputs,
    status: &str,
    err: HeduiError,
) -> HeduiError {
    manifest.status = status.to_string();
    if let HeduiError::Input(l) | HeduiError::Gate(l) = &err {
        manifest.problems.extend(l.iter().cloned());
    }
    manifest.stages = stages.list();
    record_unfinished_run(state, manifest, inputs);
    err
}

/// The roster's members ([`ledger::roster_key`] of each valid or upgraded
/// ID number in `table`, the roster as registered), sorted, each once.
async fn roster_keys(ctx: &SessionContext, table: &str) -> datafusion::error::Result<Vec<i64>> {
    let sql = format!(
        "SELECT DISTINCT CAST(id_number AS VARCHAR) AS id FROM \"{table}\" \
         WHERE id_number IS NOT NULL AND id_number_status IN ('{}', '{}')",
        resolve::levels::status::VALID,
        resolve::levels::status::UPGRADED15,
    );
    let batch = engine::query_batch(ctx, &sql).await?;
    let mut keys: Vec<i64> = strings(&batch, "id")?
        .iter()
        .flatten()
        .map(ledger::roster_key)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// Keeps the manifest and rejects of a run that failed or was stopped, in
/// the state folder (the previous complete output stays as it was).
fn record_unfinished_run(state: &Path, manifest: &Manifest, inputs: &Inputs) {
    let dir = state.join("last-unfinished-run");
    // Both folders owner-only: the rejects hold ID numbers and names. A
    // state folder that already exists (configured by a site) is left as
    // it is.
    let state_ready = if state.exists() {
        Ok(())
    } else {
        create_private_dir(state)
    };
    let result = state_ready
        .and_then(|_| create_private_dir(&dir))
        .and_then(|_| write_private(&dir.join("manifest.json"), manifest.to_json().as_bytes()))
        .and_then(|_| {
            let mut buf = Vec::new();
            rejects::write(&mut buf, &inputs.rejects)?;
            write_private(&dir.join("rejects.csv"), &buf)
        });
    match result {
        Ok(()) => {
            tracing::info!(dir = %dir.display(), status = %manifest.status, "unfinished run recorded")
        }
        Err(e) => tracing::warn!(error = %e, "could not record the unfinished run"),
    }
}

/// A text column of a batch, cast to Utf8 whatever string type the plan gave.
fn strings(batch: &RecordBatch, column: &str) -> Result<StringArray, arrow::error::ArrowError> {
    let idx = batch.schema().index_of(column)?;
    let array = cast(batch.column(idx), &DataType::Utf8)?;
    Ok(array
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray")
        .clone())
}

fn floats(batch: &RecordBatch, column: &str) -> Result<Float64Array, arrow::error::ArrowError> {
    let idx = batch.schema().index_of(column)?;
    let array = cast(batch.column(idx), &DataType::Float64)?;
    Ok(array
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("cast to Float64 gives a Float64Array")
        .clone())
}

fn get(a: &StringArray, i: usize) -> String {
    if a.is_null(i) {
        String::new()
    } else {
        a.value(i).to_string()
    }
}

/// Where a roster member lives: household, township, village (the first
/// household by id when a person is in several).
async fn roster_homes(
    ctx: &SessionContext,
) -> datafusion::error::Result<BTreeMap<String, (String, String, String)>> {
    person_places(ctx, "roster", "household_id", "household_id").await
}

/// The household (a column or a literal), township and village of each
/// person's first row of `table` in the order `order_by`, by person; empty
/// when the batch has no such table.
async fn person_places(
    ctx: &SessionContext,
    table: &str,
    household: &str,
    order_by: &str,
) -> datafusion::error::Result<BTreeMap<String, (String, String, String)>> {
    let mut places = BTreeMap::new();
    if !ctx.table_exist(table)? {
        return Ok(places);
    }
    let batch = engine::query_batch(
        ctx,
        &format!(
            "SELECT person_id, CAST({household} AS VARCHAR) AS household_id, township, village \
             FROM {table} WHERE person_id IS NOT NULL ORDER BY person_id, {order_by}"
        ),
    )
    .await?;
    let (p, h, t, v) = (
        strings(&batch, "person_id")?,
        strings(&batch, "household_id")?,
        strings(&batch, "township")?,
        strings(&batch, "village")?,
    );
    for i in 0..batch.num_rows() {
        places
            .entry(get(&p, i))
            .or_insert_with(|| (get(&h, i), get(&t, i), get(&v, i)));
    }
    Ok(places)
}

/// The configured township standards whose township is in neither the
/// roster nor the housing extract (a misspelt key, which would otherwise
/// leave the county's standard applied without a word).
async fn unused_township_standards(
    ctx: &SessionContext,
    params: &rules::RuleParams,
) -> datafusion::error::Result<Vec<String>> {
    if params.township_standard_fen.is_empty() {
        return Ok(Vec::new());
    }
    let mut selects = Vec::new();
    for table in ["roster", "housing_safety"] {
        if ctx.table_exist(table)? {
            selects.push(format!("SELECT DISTINCT township FROM {table}"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if !selects.is_empty() {
        let batch = engine::query_batch(ctx, &selects.join(" UNION ")).await?;
        let townships = strings(&batch, "township")?;
        for i in 0..batch.num_rows() {
            seen.insert(get(&townships, i));
        }
    }
    Ok(params
        .township_standard_fen
        .keys()
        .filter(|t| !seen.contains(*t))
        .cloned()
        .collect())
}

/// Each roster row's household, township and village, by its `_ord`.
async fn roster_row_homes(
    ctx: &SessionContext,
) -> datafusion::error::Result<BTreeMap<u64, (String, String, String)>> {
    row_places(ctx, "roster", "household_id").await
}

/// Each housing_safety row's township and village, by its `_ord` (the
/// household left empty): where the findings about a person in no roster
/// household that such a row raises are placed (rules.md: the township of
/// a person in no roster household comes from the extract that raised the
/// finding where it has one).
async fn housing_row_places(
    ctx: &SessionContext,
) -> datafusion::error::Result<BTreeMap<u64, (String, String, String)>> {
    row_places(ctx, "housing_safety", "''").await
}

/// The township and village of each person's latest house in housing_safety
/// (the household left empty), by person.
async fn housing_person_places(
    ctx: &SessionContext,
) -> datafusion::error::Result<BTreeMap<String, (String, String, String)>> {
    person_places(
        ctx,
        "housing_safety",
        "''",
        "assess_date DESC NULLS LAST, \"_ord\" DESC",
    )
    .await
}

/// `household` (a column or a literal), township and village of each row of
/// `table`, by its `_ord`; empty when the batch has no such table.
async fn row_places(
    ctx: &SessionContext,
    table: &str,
    household: &str,
) -> datafusion::error::Result<BTreeMap<u64, (String, String, String)>> {
    let mut rows = BTreeMap::new();
    if !ctx.table_exist(table)? {
        return Ok(rows);
    }
    let batch = engine::query_batch(
        ctx,
        &format!(
            "SELECT \"_ord\", CAST({household} AS VARCHAR) AS household_id, township, village \
             FROM {table}"
        ),
    )
    .await?;
    let ord = ords(&batch)?;
    let (h, t, v) = (
        strings(&batch, "household_id")?,
        strings(&batch, "township")?,
        strings(&batch, "village")?,
    );
    for i in 0..batch.num_rows() {
        rows.insert(ord.value(i), (get(&h, i), get(&t, i), get(&v, i)));
    }
    Ok(rows)
}

/// The rows whose person was found by a judgement (a repaired number, a
/// name and birth date), by their source (`extract:file:row`): their
/// method and score.
async fn fuzzy_links(
    ctx: &SessionContext,
) -> datafusion::error::Result<HashMap<String, (String, f64)>> {
    let quote = |s: &str| format!("'{s}'");
    let batch = engine::query_batch(
        ctx,
        &format!(
            "SELECT extract, file, \"row\", method, score FROM {other}
             WHERE field = 'id_number' AND method IN ({repaired}, {name_birth}) AND NOT \"_dup\"
             ORDER BY extract, \"_ord\"",
            other = resolve::tables::RESOLVED_OTHER,
            repaired = quote(resolve::levels::Method::Repaired.label()),
            name_birth = quote(resolve::levels::Method::NameBirth.label()),
        ),
    )
    .await?;
    let (ex, file, row, method) = (
        strings(&batch, "extract")?,
        strings(&batch, "file")?,
        strings(&batch, "row")?,
        strings(&batch, "method")?,
    );
    let score = floats(&batch, "score")?;
    Ok((0..batch.num_rows())
        .map(|i| {
            let source = format!("{}:{}:{}", ex.value(i), file.value(i), row.value(i));
            (source, (method.value(i).to_string(), score.value(i)))
        })
        .collect())
}

/// A finding's `match`: how its person was linked (`own`), or, when a
/// row it rests on was linked by a judgement ([`fuzzy_links`]), the
/// weakest of those (`repaired:0.90`): a death or a wage that a repaired
/// number gave the person is no exact match, whatever his roster row's.
fn weakest_link(own: String, sources: &[String], fuzzy: &HashMap<String, (String, f64)>) -> String {
    sources
        .iter()
        .filter_map(|s| fuzzy.get(s))
        .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
        .map_or(own, |(method, score)| format!("{method}:{score:.2}"))
}

/// The `_ord` column of a batch of resolved rows.
fn ords(batch: &RecordBatch) -> datafusion::error::Result<arrow::array::UInt64Array> {
    let ord = cast(
        batch.column(batch.schema().index_of("_ord")?),
        &DataType::UInt64,
    )?;
    Ok(ord
        .as_any()
        .downcast_ref::<arrow::array::UInt64Array>()
        .expect("cast to UInt64 gives a UInt64Array")
        .clone())
}

fn level_label(level: &str) -> &'static str {
    match level {
        "same" => "一致",
        "variant" => "为异体/繁简/分隔符写法",
        "homophone" => "同音",
        _ => "不一致",
    }
}

/// Where a repaired number differs from the person's, each changed place
/// (`第 11 位 1→0`; a swap is two): a masked report hides both numbers'
/// middles, where a typing error is, and the reviewer who is asked to
/// confirm the repair sees it so. `None` when the number as written, its
/// blanks and separators aside, is not 18 characters or differs in more
/// than two places.
fn repair_change(raw: &str, id: &str) -> Option<String> {
    let written: Vec<char> = raw
        .chars()
        .map(crate::normalize::text::fold_width)
        .filter(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let id: Vec<char> = id.chars().collect();
    if written.len() != 18 || id.len() != 18 {
        return None;
    }
    let changes: Vec<String> = (0..18)
        .filter(|&i| written[i] != id[i])
        .map(|i| format!("第 {} 位 {}→{}", i + 1, written[i], id[i]))
        .collect();
    (1..=2).contains(&changes.len()).then(|| changes.join("、"))
}

/// The Chinese name of a second ID column (`监护人身份证号`) of `extract`.
fn id_column_label(extract: &str, field: &str) -> String {
    crate::extract::by_name(extract)
        .and_then(|def| def.field(field))
        .map_or_else(|| field.to_string(), |f| f.header.to_string())
}

/// What is wrong with a bad ID number, for DQ01's evidence.
fn status_label(status: &str, raw: &str) -> &'static str {
    match status {
        "bad_check"
            if crate::normalize::id::normalize_id(raw)
                .value
                .is_some_and(|id| crate::normalize::id::has_x_in_body(id.as_bytes())) =>
        {
            "前 17 位中有字母 X"
        }
        "bad_check" => "校验位或出生日期错误",
        "malformed" => "格式错误",
        "sci_notation" => "被科学计数法损坏",
        _ => "无效",
    }
}

/// What a finding says, before its output row is made ([`Raised::row`]).
struct Raised {
    rule: &'static str,
    household: String,
    id: String,
    name: String,
    township: String,
    village: String,
    evidence: String,
    sources: Vec<String>,
    matched: String,
    /// The one source row of a finding per row (DQ01, DQ04): part of its ID.
    source_row: Option<String>,
}

impl Raised {
    /// The output row, with the rule's kind and (configured) severity and
    /// the finding's ID.
    fn row(self, config: &Config) -> FindingRow {
        let info = rules::rule_info(self.rule);
        let severity = config
            .rules
            .severity
            .get(self.rule)
            .cloned()
            .or_else(|| info.map(|i| i.severity.to_string()))
            .unwrap_or_default();
        FindingRow {
            finding_id: findings::finding_id(
                self.rule,
                &self.household,
                &self.id,
                self.source_row.as_deref(),
            ),
            rule: self.rule.to_string(),
            kind: info.map(|i| i.kind.to_string()).unwrap_or_default(),
            severity,
            household_id: self.household,
            id_number: self.id,
            name: self.name,
            township: self.township,
            village: self.village,
            evidence: self.evidence,
            sources: self.sources.join(";"),
            matched: self.matched,
            case_status: String::new(),
        }
    }
}

/// Every finding as an output row: the rules' findings and the DQ01–DQ04
/// cases of the resolve stage, with kind, severity and finding_id. The
/// rows of each part are made side by side (a city has some 1.4 M DQ
/// findings), in the order they are listed.
async fn finding_rows(
    ctx: &SessionContext,
    config: &Config,
    found: Vec<Finding>,
    res: &Resolution,
    repeats: &BTreeMap<&'static str, Vec<u64>>,
) -> Result<Vec<FindingRow>, Box<dyn std::error::Error + Send + Sync>> {
    let homes = roster_homes(ctx).await?;
    let fuzzy = fuzzy_links(ctx).await?;
    let mut rows: Vec<FindingRow> = found
        .into_par_iter()
        .map(|f| {
            let matched = weakest_link(f.matched.unwrap_or_default(), &f.sources, &fuzzy);
            Raised {
                rule: f.rule,
                household: f.household_id.unwrap_or_default(),
                id: f.id_number.unwrap_or_default(),
                name: f.name.unwrap_or_default(),
                township: f.township.unwrap_or_default(),
                village: f.village.unwrap_or_default(),
                evidence: f.evidence,
                sources: f.sources,
                matched,
                source_row: None,
            }
            .row(config)
        })
        .collect();
    // DQ01 and DQ04: one finding per source row, whichever of its ID columns
    // holds the number (a guardian's or a head's is flagged as the row's own
    // is: never silently dropped); a roster row names its own household, a
    // housing_safety row of a person in no roster household its township.
    let roster_rows = roster_row_homes(ctx).await?;
    let housing_rows = housing_row_places(ctx).await?;
    // A row that a later file issues again value for value is one record:
    // its first copy raises its DQ01 or DQ04, once (as an exact duplicate
    // within a file is its first copy's). A row that a later, different
    // row of its key replaced (a conflict) is a source row of its own.
    for (rule, batch) in [
        ("DQ01", &res.dq01_invalid_id),
        ("DQ04", &res.dq04_sci_notation),
    ] {
        let ord = ords(batch)?;
        let (ex, file, row, field, raw_id, raw_name) = (
            strings(batch, "extract")?,
            strings(batch, "file")?,
            strings(batch, "row")?,
            strings(batch, "field")?,
            strings(batch, "raw_id")?,
            strings(batch, "raw_name")?,
        );
        let status = if rule == "DQ01" {
            Some(strings(batch, "id_status")?)
        } else {
            None
        };
        // A DQ01 or DQ04 row may have found its person by name and birth
        // date, as links.csv says.
        let method = strings(batch, "method")?;
        // The batch is in order of extract, row and field: a source row's
        // columns are next to each other.
        let same_row =
            |x: &usize, y: &usize| ex.value(*x) == ex.value(*y) && ord.value(*x) == ord.value(*y);
        let order: Vec<usize> = (0..batch.num_rows()).collect();
        let source_rows: Vec<&[usize]> = order.chunk_by(same_row).collect();
        let raised = source_rows.into_par_iter().filter_map(|columns| {
            let first = columns[0];
            if repeats
                .get(ex.value(first))
                .is_some_and(|s| s.binary_search(&ord.value(first)).is_ok())
            {
                return None;
            }
            let source = format!(
                "{}:{}:{}",
                ex.value(first),
                file.value(first),
                row.value(first)
            );
            // The primary column first, then the others in field order.
            let mut columns = columns.to_vec();
            columns.sort_by_key(|&i| field.value(i) != "id_number");
            let evidence = columns
                .iter()
                .map(|&i| {
                    let (column, primary) = match field.value(i) {
                        "id_number" => ("身份证号".to_string(), true),
                        other => (id_column_label(ex.value(i), other), false),
                    };
                    let raw = raw_id.value(i).trim();
                    match &status {
                        Some(s) if s.value(i) == "empty" => match raw {
                            "" => format!("{column}为空，记录未关联"),
                            // A placeholder such as 无 or /: no ID number to mask.
                            raw => format!("{column}为{}（未填写），记录未关联", quote_raw(raw)),
                        },
                        Some(s) => format!(
                            "{column}{}{}，无法唯一修复，{}",
                            quote_raw(raw),
                            status_label(s.value(i), raw_id.value(i)),
                            if !primary {
                                "未用于关联"
                            } else if method.value(i) == "name_birth" {
                                "记录已按姓名和出生日期关联"
                            } else {
                                "记录未关联"
                            }
                        ),
                        None => format!(
                            "{column}{}已被 Excel 科学计数法损坏，后几位无法恢复",
                            quote_raw(raw)
                        ),
                    }
                })
                .collect::<Vec<_>>()
                .join("；");
            let lead = columns[0];
            let (household, township, village) = match ex.value(first) {
                "roster" => roster_rows.get(&ord.value(first)).cloned(),
                "housing_safety" => housing_rows.get(&ord.value(first)).cloned(),
                _ => None,
            }
            .unwrap_or_default();
            Some(
                Raised {
                    rule,
                    household,
                    id: String::new(),
                    name: crate::normalize::name::normalize_name(&get(&raw_name, lead))
                        .name
                        .into(),
                    township,
                    village,
                    evidence,
                    sources: vec![source.clone()],
                    matched: Some(get(&method, lead))
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "unlinked".to_string()),
                    source_row: Some(source),
                }
                .row(config),
            )
        });
        rows.par_extend(raised);
    }
    // DQ02: one finding per ID number carrying names that are not variants.
    let b = &res.dq02_name_conflict;
    let (id, known, names, sources) = (
        strings(b, "id_number")?,
        strings(b, "known_name")?,
        strings(b, "names")?,
        strings(b, "sources")?,
    );
    let housing_persons = housing_person_places(ctx).await?;
    rows.par_extend((0..b.num_rows()).into_par_iter().map(|i| {
        let pid = get(&id, i);
        // A person in no roster household: the township of the latest
        // house among the rows that carry the number, if any.
        let (household, township, village) = homes
            .get(&pid)
            .or_else(|| {
                get(&sources, i)
                    .split(';')
                    .any(|s| s.starts_with("housing_safety:"))
                    .then(|| housing_persons.get(&pid))
                    .flatten()
            })
            .cloned()
            .unwrap_or_default();
        Raised {
            rule: "DQ02",
            household,
            id: pid,
            name: get(&known, i),
            township,
            village,
            evidence: format!("同一身份证号对应不同姓名：{}", get(&names, i)),
            sources: get(&sources, i)
                .split(';')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            matched: "exact".to_string(),
            source_row: None,
        }
        .row(config)
    }));
    // DQ03: one finding per repaired person, with every repaired row.
    let b = &res.dq03_repaired_id;
    let (id, raw_id, known, level, ex, file, row, field) = (
        strings(b, "id_number")?,
        strings(b, "raw_id")?,
        strings(b, "known_name")?,
        strings(b, "name_level")?,
        strings(b, "extract")?,
        strings(b, "file")?,
        strings(b, "row")?,
        strings(b, "field")?,
    );
    let score = floats(b, "score")?;
    let ord = ords(b)?;
    // The rows of a person are found by a (stable) sort of the row numbers
    // by ID, in the order of the ID as text; the findings are then made a
    // person at a time, side by side.
    let key = |i: usize| if id.is_null(i) { "" } else { id.value(i) };
    let mut order: Vec<usize> = (0..b.num_rows()).collect();
    order.par_sort_by(|&x, &y| key(x).cmp(key(y)));
    let persons: Vec<&[usize]> = order.chunk_by(|&x, &y| key(x) == key(y)).collect();
    rows.par_extend(persons.into_par_iter().map(|person| {
        let first = person[0];
        let mut sources = Vec::with_capacity(person.len());
        let mut raws = BTreeSet::new();
        let mut least = 1.0f64;
        // A roster row written with the typo is its household's to correct
        // (a person in two households: the one whose row holds it).
        let mut roster_home = None;
        // A person in no roster household is placed by a housing_safety
        // row among the repaired ones, if there is one.
        let mut housing_place = None;
        for &i in person {
            if roster_home.is_none() && ex.value(i) == "roster" {
                roster_home = roster_rows.get(&ord.value(i)).cloned();
            }
            if housing_place.is_none() && ex.value(i) == "housing_safety" {
                housing_place = housing_rows.get(&ord.value(i)).cloned();
            }
            sources.push(format!(
                "{}:{}:{}",
                ex.value(i),
                file.value(i),
                row.value(i)
            ));
            let column = match field.value(i) {
                "id_number" => "身份证号".to_string(),
                other => id_column_label(ex.value(i), other),
            };
            let change = repair_change(raw_id.value(i), key(first))
                .map(|c| format!("；{c}"))
                .unwrap_or_default();
            raws.insert(format!(
                "{}（{column}列，姓名{}{change}）",
                quote_raw(raw_id.value(i).trim()),
                level_label(&get(&level, i)),
            ));
            least = least.min(score.value(i));
        }
        let pid = get(&id, first);
        let (household, township, village) = roster_home
            .or_else(|| homes.get(&pid).cloned())
            .or(housing_place)
            .unwrap_or_default();
        Raised {
            rule: "DQ03",
            household,
            id: pid,
            name: get(&known, first),
            township,
            village,
            evidence: format!(
                "身份证号校验位错误，已按姓名唯一修正，原号码：{}；请核实",
                raws.into_iter().collect::<Vec<_>>().join("、")
            ),
            sources: {
                crate::rules::sort_sources(&mut sources);
                sources
            },
            matched: format!("repaired:{least:.2}"),
            source_row: None,
        }
        .row(config)
    }));
    Ok(rows)
}

const LINK_COLUMNS: [&str; 8] = [
    "extract",
    "file",
    "row",
    "raw_id",
    "raw_name",
    "person_id",
    "method",
    "score",
];

/// links.csv's columns out of a batch of the resolve stage's links table.
fn links_table(links: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for c in LINK_COLUMNS {
        if c == "score" {
            fields.push(Field::new(c, DataType::Float64, false));
            columns.push(Arc::new(floats(links, c)?));
        } else {
            fields.push(Field::new(c, DataType::Utf8, c == "person_id"));
            columns.push(Arc::new(strings(links, c)?));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// Bytes one link takes in memory, about (nine columns, the text ones with
/// their offsets): what decides whether an extract's links are ordered in
/// memory ([`pump_links`]).
const LINK_ROW_BYTES: u64 = 200;

/// An extract's links at hand for [`pump_links`], not read from its
/// resolved rows' views.
enum ReadyLinks {
    /// Its table's own columns in memory ([`attach::held_links`]).
    Held(Vec<RecordBatch>),
    /// Its work files on disk with the persons beside them, read in order
    /// ([`attach::disk_links`]).
    OnDisk(attach::DiskLinks),
}

/// Hands the links of `extracts` (in that order, each ordered by `_ord`)
/// to `send` in batches of [`LINK_BATCH_ROWS`] rows cast to links.csv's
/// columns, the last one shorter; the batches run on across extracts, so
/// that they are cut where one sort of the whole table would cut them.
/// An extract in `ready` has its links at hand ([`ReadyLinks`]): held in
/// memory, handed on as they are when its batches are runs in order
/// ([`resolve::in_runs`]), else ordered in memory; or in its work files,
/// read in order a batch at a time. The others
/// come with their row counts and are read from their resolved rows' views:
/// one of more than `memory_rows` rows is sorted by the engine, which spills
/// (a province's sweep), the others are ordered in memory
/// ([`resolve::OrderedLinks`]), the next one read ahead while one is written
/// if the two together are no more than `memory_rows`. Stops when `send`
/// says the writers have gone. Once an extract's links are sent, its
/// resolved rows' views go (a ready extract's went before it came here),
/// and on disk the folder of its rows in `input_dir` (read stage's work
/// files they read).
async fn pump_links(
    ctx: &SessionContext,
    extracts: &[(&str, u64)],
    mut ready: BTreeMap<&str, ReadyLinks>,
    conflicts: &BTreeMap<&str, Vec<(u64, u64)>>,
    memory_rows: u64,
    input_dir: Option<&std::path::Path>,
    send: &impl Fn(Result<RecordBatch, String>) -> bool,
) -> Result<Picked, String> {
    let order = |extract: &str| {
        let (ctx, extract) = (ctx.clone(), extract.to_string());
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            let ordered = resolve::OrderedLinks::collect(&ctx, &resolve::links_of(&extract)).await;
            tracing::debug!(
                extract = extract,
                seconds = start.elapsed().as_secs_f64(),
                "links ordered"
            );
            ordered
        })
    };
    // Whether an extract's links are ordered in memory from its view.
    let ready_names: BTreeSet<&str> = ready.keys().copied().collect();
    let from_view =
        |extract: &str, rows: u64| rows <= memory_rows && !ready_names.contains(extract);
    let mut next = None;
    let mut cut = Cut::default();
    let mut picked = Picked::new();
    for (i, &(extract, rows)) in extracts.iter().enumerate() {
        cut.pick.wanted = conflicts.get(extract).map_or_else(Vec::new, |pairs| {
            let mut ords: Vec<u64> = pairs.iter().flat_map(|&(e, l)| [e, l]).collect();
            ords.sort_unstable();
            ords.dedup();
            ords
        });
        let ordering = if ready_names.contains(extract) {
            None
        } else {
            next.take()
                .or_else(|| from_view(extract, rows).then(|| order(extract)))
        };
        // The next extract is read ahead while both fit together.
        next = extracts
            .get(i + 1)
            .filter(|&&(after, after_rows)| {
                from_view(after, after_rows) && rows.saturating_add(after_rows) <= memory_rows
            })
            .map(|&(after, _)| order(after));
        let gone = match ready.remove(extract) {
            Some(ReadyLinks::Held(batches)) => {
                match resolve::in_runs(batches).map_err(|e| e.to_string())? {
                    Ok(runs) => {
                        let mut gone = false;
                        for batch in &runs {
                            if !cut.push_batch(batch, send)? {
                                gone = true;
                                break;
                            }
                        }
                        gone
                    }
                    Err(batches) => {
                        let ordered = resolve::OrderedLinks::of_batches(batches)
                            .map_err(|e| e.to_string())?;
                        !cut.push(ordered.len(), |at, len| ordered.slice(at, len), send)?
                    }
                }
            }
            // Files read on this task: the writers wait for these batches.
            Some(ReadyLinks::OnDisk(links)) => tokio::task::block_in_place(|| {
                for batch in links.batches() {
                    if !cut.push_batch(&batch.map_err(|e| e.to_string())?, send)? {
                        return Ok(true);
                    }
                }
                Ok::<bool, String>(false)
            })?,
            None => match ordering {
                Some(ordering) => {
                    let ordered = ordering
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                    !cut.push(ordered.len(), |at, len| ordered.slice(at, len), send)?
                }
                None => {
                    let sql = format!("{} ORDER BY \"_ord\"", resolve::links_of(extract));
                    let mut stream = engine::query_stream(ctx, &sql)
                        .await
                        .map_err(|e| e.to_string())?;
                    let mut gone = false;
                    while let Some(batch) = stream.next().await {
                        if !cut.push_batch(&batch.map_err(|e| e.to_string())?, send)? {
                            gone = true;
                            break;
                        }
                    }
                    gone
                }
            },
        };
        if gone {
            return Ok(picked);
        }
        let found = std::mem::take(&mut cut.pick.found);
        if !found.is_empty() {
            picked.insert(extract.to_string(), found);
        }
        // Its links are sent (or held, ordered): on disk the work files
        // its resolved rows were read from go now, beside the writers, not
        // with the session.
        let linked = resolve::tables::linked_of(extract);
        let ids = resolve::tables::resolved_ids_of(extract);
        let folder = input_dir.map(|d| d.join(extract));
        engine::drop_tables_and(ctx, &[&ids, &linked], folder.into_iter().collect())
            .map_err(|e| e.to_string())?;
    }
    if let Some(last) = cut.rest()? {
        send(Ok(last));
    }
    Ok(picked)
}

/// Writes conflicts.csv: each extract's conflicts (in `extracts`' order,
/// each by its later row), their rows named by their links.
fn write_conflicts<W: std::io::Write>(
    out: W,
    extracts: &[(&str, u64)],
    conflicts: &BTreeMap<&str, Vec<(u64, u64)>>,
    picked: &Picked,
) -> Result<(), HeduiError> {
    let mut lines = Vec::new();
    for &(extract, _) in extracts {
        let Some(pairs) = conflicts.get(extract) else {
            continue;
        };
        let found = picked.get(extract);
        let link = |ord: u64| {
            found.and_then(|f| f.get(&ord)).ok_or_else(|| {
                HeduiError::Internal(format!(
                    "a row in a record-key conflict of {extract} has no link"
                ))
            })
        };
        for &(earlier, later) in pairs {
            lines.push(report::conflicts::Conflict {
                extract,
                later: link(later)?,
                earlier: link(earlier)?,
            });
        }
    }
    Ok(report::conflicts::write(out, lines)?)
}

/// Extract name → the links of its rows in record-key conflicts, by `_ord`
/// (what conflicts.csv names them by).
type Picked = BTreeMap<String, BTreeMap<u64, LinkedRow>>;

/// Cuts ordered links into the writers' batches of [`LINK_BATCH_ROWS`].
#[derive(Default)]
struct Cut {
    /// Fewer than LINK_BATCH_ROWS rows, left over from the rows before, in
    /// pieces (joined once, when a batch is full: joined a piece at a time,
    /// a batch of small pieces was copied over and over).
    carry: Vec<RecordBatch>,
    /// The rows in `carry`.
    carried: usize,
    /// The links of rows in conflicts, picked out on the way.
    pick: Pick,
}

/// The links of the rows in record-key conflicts, picked out of the links
/// as they pass to the writers (each such row has a link: the roster, whose
/// rows have none, has no conflicts).
#[derive(Default)]
struct Pick {
    /// The current extract's rows wanted, as ascending, distinct `_ord`s.
    wanted: Vec<u64>,
    /// The wanted rows passed so far.
    found: BTreeMap<u64, LinkedRow>,
}

impl Pick {
    /// Picks the wanted rows out of `links` (links.csv's columns), the
    /// links of the rows of `rows` (with their `_ord`s, ascending).
    fn look(
        &mut self,
        rows: &RecordBatch,
        links: &RecordBatch,
    ) -> Result<(), arrow::error::ArrowError> {
        use arrow::array::AsArray as _;
        use arrow::datatypes::UInt64Type;
        let n = rows.num_rows();
        if self.wanted.is_empty() || n == 0 {
            return Ok(());
        }
        let ords = cast(
            rows.column(rows.schema().index_of("_ord")?),
            &DataType::UInt64,
        )?;
        let ords = ords.as_primitive::<UInt64Type>().values();
        let first = self.wanted.partition_point(|&o| o < ords[0]);
        let last = self.wanted.partition_point(|&o| o <= ords[n - 1]);
        if first == last {
            return Ok(());
        }
        let text = |name: &str| {
            let c = LINK_COLUMNS.iter().position(|&l| l == name);
            links
                .column(c.expect("a links.csv column"))
                .as_string::<i32>()
        };
        let [file, row, raw_id, person_id] = ["file", "row", "raw_id", "person_id"].map(text);
        for &ord in &self.wanted[first..last] {
            if let Ok(i) = ords.binary_search(&ord) {
                let found = LinkedRow {
                    file: get(file, i),
                    row: get(row, i),
                    raw_id: get(raw_id, i),
                    person_id: get(person_id, i),
                };
                self.found.insert(ord, found);
            }
        }
        Ok(())
    }
}

impl Cut {
    /// [`Cut::push`] of the rows of `batch`.
    fn push_batch(
        &mut self,
        batch: &RecordBatch,
        send: &impl Fn(Result<RecordBatch, String>) -> bool,
    ) -> Result<bool, String> {
        self.push(batch.num_rows(), |at, len| Ok(batch.slice(at, len)), send)
    }

    /// Hands on the `n` rows that `take(at, len)` gives, in batches, and
    /// keeps the rest; false when the writers have gone.
    fn push(
        &mut self,
        n: usize,
        take: impl Fn(usize, usize) -> datafusion::error::Result<RecordBatch>,
        send: &impl Fn(Result<RecordBatch, String>) -> bool,
    ) -> Result<bool, String> {
        let mut at = 0;
        while at < n {
            let len = (LINK_BATCH_ROWS - self.carried).min(n - at);
            let piece = take(at, len)
                .and_then(|rows| {
                    let links = links_table(&rows)?;
                    self.pick.look(&rows, &links)?;
                    Ok(links)
                })
                .map_err(|e| e.to_string())?;
            at += len;
            self.carry.push(piece);
            self.carried += len;
            if self.carried == LINK_BATCH_ROWS {
                let batch = self.rest()?.expect("a full batch has rows");
                if !send(Ok(batch)) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The rows carried, as one batch (none if there are none).
    fn rest(&mut self) -> Result<Option<RecordBatch>, String> {
        self.carried = 0;
        let pieces = std::mem::take(&mut self.carry);
        match pieces.len() {
            0 => Ok(None),
            1 => Ok(pieces.into_iter().next()),
            _ => arrow::compute::concat_batches(&pieces[0].schema(), &pieces)
                .map(Some)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Rows per batch handed to the links writers: a multiple of the Parquet
/// writer's 1,024-row mini-batches, so that links.parquet has the same bytes
/// however the engine batched the sorted stream.
const LINK_BATCH_ROWS: usize = 64 * 1024;

/// The batches of links.csv's columns, in order, from the pump; an error
/// stops the writer.
type LinkBatches = std::sync::mpsc::Receiver<Result<RecordBatch, String>>;

fn links_schema() -> Arc<Schema> {
    Arc::new(Schema::new(
        LINK_COLUMNS
            .iter()
            .map(|&c| match c {
                "score" => Field::new(c, DataType::Float64, false),
                _ => Field::new(c, DataType::Utf8, c == "person_id"),
            })
            .collect::<Vec<_>>(),
    ))
}

/// Writes output file `name` of `staged` with `write`, past the page cache
/// where the system allows ([`crate::report::direct`]): the large files
/// of a run.
fn write_output(
    staged: &StagedOutput,
    name: &str,
    write: impl FnOnce(&mut OutputFile) -> Result<(), HeduiError>,
) -> Result<(), HeduiError> {
    let mut f = staged.create_output(name)?;
    write(&mut f)?;
    Ok(f.finish()?)
}

/// Writes links.parquet from the sorted links batches.
fn write_links_parquet<W: std::io::Write + Send>(
    out: W,
    batches: LinkBatches,
) -> Result<(), HeduiError> {
    let mut writer = parquet::links_writer(out, links_schema()).map_err(internal)?;
    for batch in batches {
        writer
            .write(&batch.map_err(HeduiError::Internal)?)
            .map_err(internal)?;
    }
    writer.close().map_err(internal)?;
    Ok(())
}

/// Rows of a links batch that one worker formats as CSV: the batches are
/// formatted a few pieces at a time, side by side, and written in order.
const LINK_CSV_PIECE_ROWS: usize = 16 * 1024;

/// Writes links.csv from the sorted links batches.
fn write_links_csv<W: std::io::Write>(out: W, batches: LinkBatches) -> Result<(), HeduiError> {
    let mut out = std::io::BufWriter::new(out);
    out.write_all("\u{feff}".as_bytes())?;
    let mut header = crate::report::csv_writer(Vec::new(), 0);
    header
        .write_record(LINK_COLUMNS)
        .map_err(std::io::Error::from)?;
    out.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
    for batch in batches {
        let links = batch.map_err(HeduiError::Internal)?;
        let starts: Vec<usize> = (0..links.num_rows()).step_by(LINK_CSV_PIECE_ROWS).collect();
        let pieces: Vec<Result<Vec<u8>, HeduiError>> = starts
            .par_iter()
            .map(|&start| {
                let len = LINK_CSV_PIECE_ROWS.min(links.num_rows() - start);
                links_csv_bytes(&links.slice(start, len))
            })
            .collect();
        for piece in pieces {
            out.write_all(&piece?)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// links.csv's lines for some rows of a links batch, as the csv crate
/// writes them (see [`push_csv_field`]; a test holds the two to the same
/// bytes): its writer's state machine, a call per field, was most of the
/// formatting's time.
fn links_csv_bytes(links: &RecordBatch) -> Result<Vec<u8>, HeduiError> {
    let cols: Vec<StringArray> = LINK_COLUMNS[..7]
        .iter()
        .map(|c| strings(links, c))
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let text: usize = cols
        .iter()
        .map(|a| {
            let offsets = a.offsets();
            (offsets[offsets.len() - 1] - offsets[0]) as usize
        })
        .sum();
    // The text, a delimiter after each field and the score.
    let mut out = Vec::with_capacity(text + links.num_rows() * (LINK_COLUMNS.len() + 4));
    let score = floats(links, "score").map_err(internal)?;
    // Scores come from a handful of values, and formatting a float to two
    // places is slow enough to show in a run's profile: each is formatted
    // once (the first few dozen kept).
    let mut formatted: Vec<(u64, String)> = Vec::new();
    for i in 0..links.num_rows() {
        for a in &cols {
            if !a.is_null(i) {
                push_csv_field(&mut out, a.value(i).as_bytes());
            }
            out.push(b',');
        }
        let s = score.value(i);
        match formatted.iter().find(|(bits, _)| *bits == s.to_bits()) {
            Some((_, text)) => out.extend_from_slice(text.as_bytes()),
            None => {
                let text = format!("{s:.2}");
                out.extend_from_slice(text.as_bytes());
                if formatted.len() < 32 {
                    formatted.push((s.to_bits(), text));
                }
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Appends a CSV field as the csv crate writes it by default: quoted, its
/// quotes doubled, when it holds a comma, a quote or a line break; as it
/// is otherwise.
fn push_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for &b in field {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field);
    }
}

#[cfg(test)]
mod tests {
    use super::explain;

    /// DQ03 names each place the typing error changed, as written →
    /// corrected, so that a masked report shows the correction.
    #[test]
    fn a_repair_names_the_places_it_changed() {
        let id = "341122196805207712";
        assert_eq!(
            super::repair_change("341122196815207712", id).as_deref(),
            Some("第 11 位 1→0")
        );
        assert_eq!(
            super::repair_change("341122 19680520 7721", id).as_deref(),
            Some("第 17 位 2→1、第 18 位 1→2")
        );
        assert_eq!(
            super::repair_change("３４１１２２１９６８１５２０７７１２", id).as_deref(),
            Some("第 11 位 1→0")
        );
        // Not 18 characters, or more than two places: not said.
        assert_eq!(super::repair_change("34112219681520771", id), None);
        assert_eq!(super::repair_change("341122196815207799", id), None);
    }
    use arrow::array::{AsArray, Float64Array, StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::{Arc, Mutex};

    /// DQ01 says what is wrong with the number: an X among its first 17
    /// characters (lower-case or spaced as written) is no check-character
    /// error.
    #[test]
    fn a_bad_id_s_label_names_an_x_among_its_digits() {
        use super::status_label;
        assert_eq!(
            status_label("bad_check", "34112219800101106 1"),
            "校验位或出生日期错误"
        );
        for raw in ["341122198001011x06", " 3411221980010110X6"] {
            assert_eq!(
                status_label("bad_check", raw),
                "前 17 位中有字母 X",
                "{raw}"
            );
        }
        assert_eq!(status_label("malformed", "34112X"), "格式错误");
    }

    proptest::proptest! {
        /// links.csv's lines are the csv crate's: fields with commas,
        /// quotes, line breaks, spaces, nulls and CJK text among them.
        #[test]
        fn links_csv_lines_are_the_csv_crate_s(
            rows in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        proptest::option::of("[a,\"\r\n 张·x0-9']{0,6}"),
                        7,
                    ),
                    0.0f64..1.0,
                ),
                0..20,
            ),
        ) {
            let column = |c: usize| -> arrow::array::ArrayRef {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0[c].clone()).collect::<Vec<_>>(),
                ))
            };
            let mut columns: Vec<arrow::array::ArrayRef> = (0..7).map(column).collect();
            columns.push(Arc::new(Float64Array::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )));
            let fields: Vec<Field> = super::LINK_COLUMNS
                .iter()
                .map(|&c| match c {
                    "score" => Field::new(c, DataType::Float64, false),
                    _ => Field::new(c, DataType::Utf8, true),
                })
                .collect();
            let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
            let mut w = crate::report::csv_writer(Vec::new(), 0);
            for (texts, score) in &rows {
                let mut record: Vec<String> =
                    texts.iter().map(|t| t.clone().unwrap_or_default()).collect();
                record.push(format!("{score:.2}"));
                w.write_record(&record).unwrap();
            }
            let want = w.into_inner().unwrap();
            proptest::prop_assert_eq!(super::links_csv_bytes(&batch).unwrap(), want);
        }
    }

    /// One extract's resolved IDs, as `resolve::links_of` reads them: the
    /// rows of `ords` (file `f{ord}`), and a guardian row that is no link.
    fn resolved_ids(extract: &str, ords: &[u64]) -> RecordBatch {
        let text = |f: &dyn Fn(u64) -> String| {
            Arc::new(StringArray::from(
                ords.iter().map(|&o| f(o)).chain([f(0)]).collect::<Vec<_>>(),
            ))
        };
        // links.csv's text columns, then the field.
        let schema = Schema::new(
            super::LINK_COLUMNS[..7]
                .iter()
                .chain(&["field"])
                .map(|c| Field::new(*c, DataType::Utf8, false))
                .chain([
                    Field::new("score", DataType::Float64, false),
                    Field::new("_ord", DataType::UInt64, false),
                ])
                .collect::<Vec<_>>(),
        );
        let n = ords.len() + 1;
        let field = |o: u64| if o == 0 { "guardian_id" } else { "id_number" }.to_string();
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                text(&|_| extract.to_string()),
                text(&|o| format!("f{o}")),
                text(&|o| o.to_string()),
                text(&|_| "id".to_string()),
                text(&|_| "name".to_string()),
                text(&|_| "person".to_string()),
                text(&|_| "exact".to_string()),
                text(&field),
                Arc::new(Float64Array::from(vec![1.0; n])),
                Arc::new(UInt64Array::from(
                    ords.iter().copied().chain([u64::MAX]).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    /// Rows `ords` of an extract's table with persons attached, as its
    /// work files hold them: [`resolved_ids`]'s rows (its guardian row
    /// aside) under the names of the columns links are read from.
    fn attached(ords: &[u64]) -> RecordBatch {
        let links = resolved_ids("d", ords).slice(0, ords.len());
        let (fields, arrays): (Vec<Field>, Vec<arrow::array::ArrayRef>) = crate::attach::LINK_FROM
            .iter()
            .map(|&(link, column)| {
                let array = links.column_by_name(link).unwrap().clone();
                (Field::new(column, array.data_type().clone(), false), array)
            })
            .unzip();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
    }

    /// The batches [`super::pump_links`] hands on: their sizes, and each
    /// row's `extract:file`; every batch has links.csv's columns.
    async fn pumped(
        ctx: &datafusion::prelude::SessionContext,
        extracts: &[(&str, u64)],
        memory_rows: u64,
    ) -> (Vec<usize>, Vec<String>) {
        let none = Default::default();
        let (sizes, rows, _) =
            pumped_picking(ctx, extracts, Default::default(), &none, memory_rows).await;
        (sizes, rows)
    }

    /// [`pumped`], and the links of the rows of `conflicts` picked out.
    async fn pumped_picking(
        ctx: &datafusion::prelude::SessionContext,
        extracts: &[(&str, u64)],
        ready: std::collections::BTreeMap<&str, super::ReadyLinks>,
        conflicts: &std::collections::BTreeMap<&str, Vec<(u64, u64)>>,
        memory_rows: u64,
    ) -> (Vec<usize>, Vec<String>, super::Picked) {
        let sent = Mutex::new(Vec::new());
        let send = |batch: Result<RecordBatch, String>| {
            sent.lock().unwrap().push(batch.unwrap());
            true
        };
        let picked = super::pump_links(ctx, extracts, ready, conflicts, memory_rows, None, &send)
            .await
            .unwrap();
        let sent = sent.into_inner().unwrap();
        let sizes = sent.iter().map(|b| b.num_rows()).collect();
        let mut rows = Vec::new();
        for batch in &sent {
            assert_eq!(batch.schema(), super::links_schema());
            let extract = batch.column(0).as_string::<i32>();
            let file = batch.column(1).as_string::<i32>();
            for i in 0..batch.num_rows() {
                rows.push(format!("{}:{}", extract.value(i), file.value(i)));
            }
        }
        (sizes, rows, picked)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn links_come_in_extract_then_ord_order_in_full_batches_across_the_seam() {
        let ctx = crate::engine::session(2);
        // 40,000 rows each, in reverse: the first batch runs over the seam.
        let a: Vec<u64> = (1..=40_000).rev().collect();
        let b: Vec<u64> = (1..=40_000).rev().map(|o| o * 3).collect();
        for (extract, ords) in [("a", &a), ("b", &b)] {
            let (first, second) = ords.split_at(ords.len() / 2);
            let batches = vec![resolved_ids(extract, first), resolved_ids(extract, second)];
            let name = crate::resolve::tables::resolved_ids_of(extract);
            crate::engine::register_batches(&ctx, &name, batches[0].schema(), batches).unwrap();
        }
        // "a" is ordered in memory, "b" (over the limit) by the engine.
        let extracts = [("a", 40_000), ("b", 40_001)];
        let (sizes, got) = pumped(&ctx, &extracts, 40_000).await;
        assert_eq!(
            sizes,
            [super::LINK_BATCH_ROWS, 80_000 - super::LINK_BATCH_ROWS]
        );
        let want: Vec<String> = (1..=40_000u64)
            .map(|o| format!("a:f{o}"))
            .chain((1..=40_000u64).map(|o| format!("b:f{}", o * 3)))
            .collect();
        assert!(got == want, "links out of order");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn held_links_come_in_order_beside_those_read_from_views() {
        let ctx = crate::engine::session(2);
        // "a" held as runs dealt over partitions, "b" read from its view,
        // "c" held but not in runs: ordered row by row; "d" below.
        let held_batch = |extract: &str, ords: &[u64]| {
            let b = resolved_ids(extract, ords);
            b.slice(0, ords.len())
        };
        let a: Vec<u64> = (1..=30_000).collect();
        let (a1, a2) = a.split_at(20_000);
        let b: Vec<u64> = (1..=30_000).rev().collect();
        let c: Vec<u64> = (1..=30_000).map(|o| o * 2).collect();
        let (c_even, c_odd): (Vec<u64>, Vec<u64>) = c.iter().partition(|&&o| o % 4 == 0);
        let name = crate::resolve::tables::resolved_ids_of("b");
        crate::engine::register_batch(&ctx, &name, resolved_ids("b", &b)).unwrap();
        use super::ReadyLinks::{Held, OnDisk};
        let mut ready: std::collections::BTreeMap<_, _> = [
            ("a", Held(vec![held_batch("a", a2), held_batch("a", a1)])),
            (
                "c",
                Held(vec![held_batch("c", &c_odd), held_batch("c", &c_even)]),
            ),
        ]
        .into_iter()
        .collect();
        // "d" on disk, its persons beside its rows: read from its work
        // files in order (two parts, the first of two batches).
        let work = tempfile::tempdir().unwrap();
        let d: Vec<u64> = (1..=30_000).map(|o| o * 5).collect();
        let mut parts = Vec::new();
        for (i, batches) in [&d[..10_000], &d[10_000..20_000], &d[20_000..]]
            .chunks(2)
            .enumerate()
        {
            let rows: Vec<RecordBatch> = batches.iter().map(|o| attached(o)).collect();
            let stem = work.path().join(format!("{i:04}"));
            let mut w =
                crate::engine::work::WorkPartWriter::create(&stem, &rows[0].schema()).unwrap();
            for b in &rows {
                w.write(b).unwrap();
            }
            parts.push(w.finish().unwrap());
        }
        let table = crate::engine::work::DiskTable::new(attached(&[1]).schema(), parts);
        ctx.register_table(crate::attach::rows_table("d"), Arc::new(table))
            .unwrap();
        let d_links = crate::attach::disk_links(&ctx, "d").await.unwrap().unwrap();
        ready.insert("d", OnDisk(d_links));
        let extracts = [("a", 30_000), ("b", 30_000), ("c", 30_000), ("d", 30_000)];
        // Rows in conflicts are picked out whichever way their links come:
        // across the runs and the writers' batches, from the view, ordered
        // row by row, and read from work files.
        let conflicts = [
            ("a", vec![(5, 25_000), (20_000, 20_001), (100, 29_999)]),
            ("b", vec![(7, 30_000)]),
            ("c", vec![(4, 60_000)]),
            ("d", vec![(50_000, 50_005), (100_000, 150_000)]),
        ]
        .into_iter()
        .collect();
        let (sizes, got, picked) =
            pumped_picking(&ctx, &extracts, ready, &conflicts, u64::MAX).await;
        let found: Vec<String> = picked
            .iter()
            .flat_map(|(extract, rows)| {
                rows.iter()
                    .map(move |(ord, r)| format!("{extract}:{ord}:{}:{}", r.file, r.row))
            })
            .collect();
        let want_found = [
            "a:5:f5:5",
            "a:100:f100:100",
            "a:20000:f20000:20000",
            "a:20001:f20001:20001",
            "a:25000:f25000:25000",
            "a:29999:f29999:29999",
            "b:7:f7:7",
            "b:30000:f30000:30000",
            "c:4:f4:4",
            "c:60000:f60000:60000",
            "d:50000:f50000:50000",
            "d:50005:f50005:50005",
            "d:100000:f100000:100000",
            "d:150000:f150000:150000",
        ];
        assert_eq!(found, want_found);
        assert_eq!(
            sizes,
            [super::LINK_BATCH_ROWS, 120_000 - super::LINK_BATCH_ROWS]
        );
        let want: Vec<String> = (1..=30_000u64)
            .map(|o| format!("a:f{o}"))
            .chain((1..=30_000u64).map(|o| format!("b:f{o}")))
            .chain((1..=30_000u64).map(|o| format!("c:f{}", o * 2)))
            .chain((1..=30_000u64).map(|o| format!("d:f{}", o * 5)))
            .collect();
        assert!(got == want, "links out of order");
    }

    /// Waits (up to 20 s) until `dir` is gone: a dropped table's folders
    /// are removed on a thread of their own.
    fn gone(dir: &std::path::Path) -> bool {
        for _ in 0..200 {
            if !dir.exists() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_extract_s_input_work_files_go_once_its_links_are_sent_and_not_before() {
        let tmp = tempfile::tempdir().unwrap();
        let disk = crate::engine::DiskTables {
            dir: tmp.path().join("tables"),
            memory_limit: 64 << 20,
        };
        let ctx = crate::engine::session_with(2, Some(&disk)).unwrap();
        let input = disk.dir.join("input");
        for folder in ["a", "b", "other"] {
            std::fs::create_dir_all(input.join(folder)).unwrap();
        }
        for extract in ["a", "b"] {
            let ords: Vec<u64> = (1..=40_000).collect();
            let batch = resolved_ids(extract, &ords);
            let name = crate::resolve::tables::resolved_ids_of(extract);
            crate::engine::register_batch(&ctx, &name, batch).unwrap();
        }
        // The writers go at the first batch, which "a"'s 40,000 links do
        // not fill: "a"'s links are all handed on, "b"'s are not.
        let send = |_: Result<RecordBatch, String>| false;
        super::pump_links(
            &ctx,
            &[("a", 40_000), ("b", 40_000)],
            Default::default(),
            &Default::default(),
            40_000,
            Some(&input),
            &send,
        )
        .await
        .unwrap();
        assert!(gone(&input.join("a")), "a's work files stay");
        assert!(input.join("b").exists(), "b's links were not sent");
        assert!(input.join("other").exists());
        assert!(
            ctx.table(&crate::resolve::tables::resolved_ids_of("b"))
                .await
                .is_ok(),
            "b's rows are still there to read"
        );
    }

    #[test]
    fn an_exhausted_memory_pool_says_which_setting_to_raise() {
        let e = explain("Resources exhausted: Failed to allocate additional 1088.0 MB");
        assert!(e.contains("[engine] memory_limit_mb"), "{e}");
        assert!(e.contains("Failed to allocate"), "{e}");
        assert_eq!(explain("something else"), "something else");
    }
}
