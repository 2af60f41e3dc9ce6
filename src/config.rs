//! The TOML config people write (serde, unknown keys rejected), checked up
//! front with every problem reported at once, then turned into the plan the
//! program runs. `hedui example-config` prints [`EXAMPLE`], which a test
//! parses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::extract;

/// The complete, commented example config.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

/// A config file's text: UTF-8 (a byte-order mark, as Windows Notepad
/// writes, dropped), or else GB18030, as a Chinese Windows editor saves
/// "ANSI" text. None when it is neither.
fn config_text(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Some(text.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    (!had_errors).then(|| text.into_owned())
}

/// `~` or `~/…` at the start of a configured path is the home folder, as a
/// shell would read it (a config is not read by a shell, and a folder named
/// `~` in the working folder is never what was meant). Left as written
/// when there is no home folder.
fn home_expanded(path: PathBuf, home: Option<std::ffi::OsString>) -> PathBuf {
    let (Ok(rest), Some(home)) = (path.strip_prefix("~"), home) else {
        return path;
    };
    PathBuf::from(home).join(rest)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the case ledger and the last run's volumes live; default
    /// `hedui-state/` beside the output folder.
    pub state_dir: Option<PathBuf>,
    pub input: InputConfig,
    pub rules: RulesConfig,
    /// Per extract type: extra header aliases for its fields.
    pub extracts: BTreeMap<String, ExtractConfig>,
    pub engine: EngineConfig,
}

/// Where the query engine keeps its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TablesMode {
    /// On disk when the batch's files together exceed `disk_above_mb`, or
    /// when its tables would not fit in the memory available.
    Auto,
    Memory,
    Disk,
}

/// How the engine holds a batch: in memory (fastest) or on disk (a batch
/// larger than memory: a city's or a province's audit sweep).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub tables: TablesMode,
    /// `auto` keeps tables on disk for a batch larger than this, in MB.
    pub disk_above_mb: u64,
    /// On disk: memory the engine's sorts and aggregates may hold before
    /// they spill, in MB. 8192 by default: at 6144 a city's count of the
    /// names seen on each ID spilled (10.6 s against 6.3 s), and the run
    /// peaks at about 9 GB either way (BENCHMARKS.md, session 44).
    pub memory_limit_mb: u64,
    /// A batch smaller than this (MB) is small: each query runs in one
    /// partition, and more queries run side by side
    /// ([`crate::engine::mark_small_input`]); 0: none is.
    pub small_below_mb: u64,
    /// Stop a run at its start when its disk has less free than it is
    /// expected to write (src/space.rs).
    pub check_free_disk: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            tables: TablesMode::Auto,
            disk_above_mb: 2048,
            memory_limit_mb: 8192,
            small_below_mb: 64,
            check_free_disk: true,
        }
    }
}

impl EngineConfig {
    /// Whether a batch of `input_bytes` is small (`small_below_mb`).
    pub fn is_small(&self, input_bytes: u64) -> bool {
        input_bytes < self.small_below_mb.saturating_mul(1 << 20)
    }

    /// Whether a batch of `input_bytes` is held on disk, given the memory
    /// the run may take (`available`, bytes; `None` when unknown). `auto`
    /// chooses disk for a batch over `disk_above_mb`, or one whose tables
    /// would not fit in the memory available
    /// ([`crate::memory::in_memory_peak`]).
    pub fn on_disk(&self, input_bytes: u64, available: Option<u64>) -> bool {
        match self.tables {
            TablesMode::Memory => false,
            TablesMode::Disk => true,
            TablesMode::Auto => {
                input_bytes > self.disk_above_mb.saturating_mul(1 << 20)
                    || available.is_some_and(|a| crate::memory::in_memory_peak(input_bytes) > a)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// File name → extract type, for files whose name does not start with
    /// the extract's name.
    pub files: BTreeMap<String, String>,
    /// Extract types that may be missing from a batch; the rules that need
    /// them are then skipped.
    pub optional: Vec<String>,
    /// A file whose share of rejected rows exceeds this stops the run (exit 5).
    pub max_reject_rate: f64,
    /// An extract whose rows shrank by more than this share against the last
    /// run stops the run (exit 5).
    pub max_shrink: f64,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            files: BTreeMap::new(),
            optional: Vec::new(),
            max_reject_rate: 0.05,
            max_shrink: 0.30,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractConfig {
    /// Canonical field name → further headers that mean it.
    pub aliases: BTreeMap<String, Vec<String>>,
}

/// Thresholds of spec/rules.md; money in 元, ratios as decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// The minimum-living standard, 元 per person per month, county-wide.
    pub standard: f64,
    /// Township → its own standard.
    pub township_standard: BTreeMap<String, f64>,
    /// CB01: income line = standard × factor, for 低保 and 特困.
    pub income_factor: f64,
    /// CB01: the factor for 低收入 households.
    pub income_factor_low_income: f64,
    /// CB02: this many current homes (or more) fire the rule.
    pub max_homes: u32,
    /// LB01: out-of-pocket over the window at or above this, in 元.
    pub oop_threshold: f64,
    /// LB03: house grades that count as dangerous.
    pub dangerous_grades: Vec<String>,
    /// LB04: registered unemployed at least this many months.
    pub unemployed_months: u32,
    /// DY02: the reimbursement floor for 低保 and 特困.
    pub reimbursement_floor: f64,
    /// DY02: the floor for 低收入.
    pub reimbursement_floor_low_income: f64,
    /// DQ05: computed income above declared income by more than this share.
    pub declared_income_margin: f64,
    /// Rule code → severity (高 / 中 / 低) overriding the default.
    pub severity: BTreeMap<String, String>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            standard: 800.0,
            township_standard: BTreeMap::new(),
            income_factor: 1.0,
            income_factor_low_income: 1.5,
            max_homes: 2,
            oop_threshold: 20000.0,
            dangerous_grades: vec!["D".to_string()],
            unemployed_months: 12,
            reimbursement_floor: 0.70,
            reimbursement_floor_low_income: 0.50,
            declared_income_margin: 0.30,
            severity: BTreeMap::new(),
        }
    }
}

/// A config that could not be used; exit code 3.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}：{zh} / cannot read config file {path}: {source}", zh = crate::error::io_zh(source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("配置文件 {path} 格式错误 / config file {path} is invalid: {message}")]
    Parse { path: String, message: String },
    #[error("配置文件 {path} 有 {} 处错误 / config file {path} has {} problem(s):\n{}", .problems.len(), .problems.len(), .problems.join("\n"))]
    Invalid { path: String, problems: Vec<String> },
}

/// A loaded, checked config with the hash of its text (for the manifest).
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub sha256: String,
}

impl Config {
    /// Reads and checks a config file; no file means the defaults.
    pub fn load(path: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        let (bytes, shown) = match path {
            Some(p) => (
                std::fs::read(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (Vec::new(), "(默认 / defaults)".to_string()),
        };
        let text = config_text(&bytes).ok_or_else(|| ConfigError::Parse {
            path: shown.clone(),
            message: "既不是 UTF-8 也不是 GB18030 编码，请另存为 UTF-8 / neither UTF-8 nor \
                      GB18030 text: save it as UTF-8"
                .to_string(),
        })?;
        let config = Config::parse(&text, &shown)?;
        Ok(LoadedConfig {
            config,
            sha256: crate::read::sha256_of(&bytes),
        })
    }

    /// Parses and checks config text; `shown` names it in messages.
    pub fn parse(text: &str, shown: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: shown.to_string(),
            // The reader quotes the line: a name typed there (a file
            // named after a person) is masked as in every message.
            message: format!(
                "{}\n{}",
                parse_error_zh(text, &e),
                crate::report::mask::mask_label(&e.to_string())
            ),
        })?;
        config.state_dir = config
            .state_dir
            .map(|d| home_expanded(d, std::env::var_os("HOME")));
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: shown.to_string(),
                problems,
            })
        }
    }

    /// Every problem of the config, each a line in Chinese and English.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self
            .state_dir
            .as_ref()
            .is_some_and(|d| d.as_os_str().is_empty())
        {
            out.push(
                "state_dir 不能为空（不设则为输出目录旁的 hedui-state/） / state_dir must not be empty \
                 (leave it out for hedui-state/ beside the output folder)"
                    .to_string(),
            );
        }
        // The rules compare in fen, thousandths (factors) and ten
        // thousandths (floors, the margin): a value finer than its unit
        // would be rounded, and decide a case at the line the wrong way.
        let mut money = |key: &str, v: f64, places: i32| {
            if !(v.is_finite() && v >= 0.0) {
                out.push(format!(
                    "{key} 必须是非负数 / {key} must be a non-negative number (got {v})"
                ));
            } else if !has_places(v, places) {
                out.push(format!(
                    "{key} 最多 {places} 位小数 / {key} takes at most {places} decimals (got {v})"
                ));
            }
        };
        let r = &self.rules;
        money("rules.standard", r.standard, 2);
        money("rules.oop_threshold", r.oop_threshold, 2);
        money("rules.income_factor", r.income_factor, 3);
        money(
            "rules.income_factor_low_income",
            r.income_factor_low_income,
            3,
        );
        money("rules.declared_income_margin", r.declared_income_margin, 4);
        for (t, v) in &r.township_standard {
            money(&format!("rules.township_standard.{t}"), *v, 2);
        }
        // A township is named as the roster's cells hold it (spaces around
        // and inside, full-width forms: one name): two keys of one name
        // would leave one of the standards unused, an empty one none.
        let mut townships: BTreeMap<String, &str> = BTreeMap::new();
        for t in r.township_standard.keys() {
            match crate::extract::table::canonical_text(t) {
                None => out.push(
                    "rules.township_standard 中有乡镇名为空 / a township name in \
                     rules.township_standard is empty"
                        .to_string(),
                ),
                Some(name) => {
                    if let Some(first) = townships.insert(name.clone(), t) {
                        out.push(format!(
                            "rules.township_standard 中「{first}」与「{t}」是同一乡镇「{name}」 / \
                             rules.township_standard names the township {name} twice"
                        ));
                    }
                }
            }
        }
        let mut share = |key: &str, v: f64, places: Option<i32>| {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                out.push(format!(
                    "{key} 必须在 0 到 1 之间 / {key} must be between 0 and 1 (got {v})"
                ));
            } else if let Some(places) = places
                && !has_places(v, places)
            {
                out.push(format!(
                    "{key} 最多 {places} 位小数 / {key} takes at most {places} decimals (got {v})"
                ));
            }
        };
        share("rules.reimbursement_floor", r.reimbursement_floor, Some(4));
        share(
            "rules.reimbursement_floor_low_income",
            r.reimbursement_floor_low_income,
            Some(4),
        );
        share("input.max_reject_rate", self.input.max_reject_rate, None);
        share("input.max_shrink", self.input.max_shrink, None);
        if self.engine.memory_limit_mb < 256 {
            out.push(format!(
                "engine.memory_limit_mb 至少为 256 / engine.memory_limit_mb must be at least 256 (got {})",
                self.engine.memory_limit_mb
            ));
        }
        if r.max_homes == 0 {
            out.push("rules.max_homes 必须至少为 1 / rules.max_homes must be at least 1".into());
        }
        // A value typed where another belongs is quoted masked, as in
        // every message: it may be a name (helper-160's audit).
        let quoted = crate::report::mask::mask_label;
        for g in &r.dangerous_grades {
            if !["A", "B", "C", "D"].contains(&g.as_str()) {
                out.push(format!(
                    "rules.dangerous_grades 只能是 A/B/C/D / rules.dangerous_grades takes A, B, C or D (got {})",
                    quoted(g)
                ));
            }
        }
        for (code, sev) in &r.severity {
            let shown = quoted(code);
            if !["高", "中", "低"].contains(&sev.as_str()) {
                out.push(format!(
                    "rules.severity.{shown} 只能是 高/中/低 / rules.severity.{shown} must be 高, 中 or 低 (got {})",
                    quoted(sev)
                ));
            }
            if !is_rule_code(code) {
                out.push(format!(
                    "rules.severity 中的规则代码 {shown} 不存在 / unknown rule code {shown}"
                ));
            }
        }
        for (file, name) in &self.input.files {
            if extract::by_name(name).is_none() {
                // Typed by hand: a file (or a slip) named after a person is
                // masked as in every message.
                let (file, name) = (
                    crate::report::mask::mask_label(file),
                    crate::report::mask::mask_label(name),
                );
                out.push(format!(
                    "input.files.\"{file}\" 的抽取类型 {name} 不存在 / unknown extract type {name} for file {file}"
                ));
            }
        }
        for name in &self.input.optional {
            if extract::by_name(name).is_none() {
                out.push(format!(
                    "input.optional 中的抽取类型 {name} 不存在 / unknown extract type {name}"
                ));
            } else if name == "roster" {
                out.push("名册（roster）不能设为可选 / the roster cannot be optional".into());
            }
        }
        for (name, ec) in &self.extracts {
            let Some(def) = extract::by_name(name) else {
                out.push(format!(
                    "extracts.{name}：抽取类型不存在 / unknown extract type {name}"
                ));
                continue;
            };
            for field in ec.aliases.keys() {
                if def.field(field).is_none() {
                    out.push(format!(
                        "extracts.{name}.aliases.{field}：字段不存在 / {name} has no field {field}"
                    ));
                }
            }
            out.extend(alias_collisions(name, def, &ec.aliases));
        }
        out
    }

    /// The extra header aliases configured for one extract type.
    pub fn aliases(&self, extract: &str) -> BTreeMap<String, Vec<String>> {
        self.extracts
            .get(extract)
            .map(|e| e.aliases.clone())
            .unwrap_or_default()
    }
}

/// Configured aliases that are already a header of another field of the
/// extract (its template header, a built-in alias, or another configured
/// alias): such a column would map onto two fields, which no file could
/// satisfy. Compared as headers are matched ([`extract::header_key`]); an
/// alias whose name ends in a note that says something of the column (not
/// a unit or a mark) is compared with its note, since a cell that matches
/// it so goes to its field before one whose note must be cut off
/// (`身份证号（户主）` for head_id beside 身份证号's id_number).
fn alias_collisions(
    name: &str,
    def: &extract::ExtractDef,
    aliases: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    use extract::{header_key, noted_header_key};
    // Every header's key, and the key with its note of those with one.
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    let mut noted_owner: BTreeMap<String, &str> = BTreeMap::new();
    for f in def.fields {
        for h in std::iter::once(&f.header).chain(f.aliases) {
            owner.entry(header_key(h)).or_insert(f.field);
            if let Some(noted) = noted_header_key(h) {
                noted_owner.entry(noted).or_insert(f.field);
            }
        }
    }
    let mut out = Vec::new();
    for (field, headers) in aliases {
        for alias in headers {
            let key = header_key(alias);
            if key.is_empty() {
                out.push(format!(
                    "extracts.{name}.aliases.{field}：别名不能为空 / an alias must not be empty"
                ));
                continue;
            }
            let (owners, key) = match noted_header_key(alias) {
                Some(noted) => (&mut noted_owner, noted),
                None => (&mut owner, key),
            };
            match owners.get(&key) {
                Some(other) if *other != field.as_str() => out.push(format!(
                    "extracts.{name}.aliases.{field}：别名「{alias}」已是字段 {other} 的表头 / \
                     alias {alias} is already a header of field {other}"
                )),
                Some(_) => {}
                None => {
                    if let Some(f) = def.field(field) {
                        owners.insert(key, f.field);
                    }
                }
            }
        }
    }
    out
}

/// Whether a code names a rule of spec/rules.md.
pub fn is_rule_code(code: &str) -> bool {
    let ranges: [(&str, u32); 4] = [("CB", 5), ("LB", 4), ("DY", 4), ("DQ", 6)];
    ranges.iter().any(|(prefix, max)| {
        code.strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (1..=*max).contains(&n) && code.len() == 4)
    })
}

/// Whether `v` has no more than `places` decimals (as a config's TOML
/// number is written: `0.7` is 0.69999… as a float, and has one).
/// What a TOML error means, in Chinese, with the line and the key (as
/// `rules.unemployed_months`) where the parser points at one: the parser's
/// own message (English, Rust's type names) follows it.
fn parse_error_zh(text: &str, e: &toml::de::Error) -> String {
    let message = e.message();
    // serde's wording: `unknown field `x``, `invalid type: string "八百",
    // expected f64`, `invalid value: integer `-1`, expected u32`,
    // `unknown variant `ssd`, expected one of …`.
    let expected = message.rsplit_once("expected ").map(|(_, x)| x);
    let wanted = match expected {
        Some(x) if x.starts_with('u') && x[1..].parse::<u32>().is_ok() => "非负整数",
        Some(x) if x.starts_with('i') && x[1..].parse::<u32>().is_ok() => "整数",
        Some(x) if x.starts_with('f') && x[1..].parse::<u32>().is_ok() => "数",
        Some("a boolean") => "true 或 false",
        Some("a string") => "文本（加引号）",
        Some(x) if x.contains("sequence") => "列表（[…]）",
        Some(x) if x.contains("map") => "表",
        _ => "",
    };
    let what = if message.starts_with("unknown field") {
        "未知的键（键名写错了？可用的键见 hedui example-config）".to_string()
    } else if message.starts_with("unknown variant") {
        "不是可选的取值之一（可选值见下方英文说明）".to_string()
    } else if message.starts_with("missing field") {
        "缺少必需的键".to_string()
    } else if message.contains("duplicate key") {
        "键重复出现".to_string()
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        if wanted.is_empty() {
            "取值的类型或范围不对".to_string()
        } else {
            format!("取值无效，应为{wanted}")
        }
    } else {
        "TOML 语法错误".to_string()
    };
    let Some(span) = e.span() else {
        return what;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    // The table the line is in: the last `[header]` above it.
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
        });
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let key = match (table, key) {
        (Some(t), Some(k)) if !t.is_empty() => format!("{t}.{k}"),
        (_, Some(k)) => k.to_string(),
        (Some(t), None) if !t.is_empty() => format!("[{t}]"),
        _ => String::new(),
    };
    // A key may be a file named after a person.
    let key = crate::report::mask::mask_label(&key);
    if key.is_empty() {
        format!("第 {line_no} 行：{what}")
    } else {
        format!("第 {line_no} 行 {key}：{what}")
    }
}

fn has_places(v: f64, places: i32) -> bool {
    let scaled = v * 10f64.powi(places);
    (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser's refusals are explained in Chinese with the line and the
    /// dotted key, before its own English message.
    #[test]
    fn a_config_the_parser_refuses_is_explained_in_chinese_with_its_key() {
        let zh = |text: &str| match Config::parse(text, "c.toml") {
            Err(ConfigError::Parse { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        let m = zh("[rules]\nstandard = 800.0\nunemployed_months = -1\n");
        assert!(
            m.starts_with("第 3 行 rules.unemployed_months：取值无效，应为非负整数\n"),
            "{m}"
        );
        assert!(m.contains("expected u32"), "{m}");
        let m = zh("foo = 1\n");
        assert!(m.starts_with("第 1 行 foo：未知的键"), "{m}");
        let m = zh("[rules]\nstandard = \"八百\"\n");
        assert!(
            m.starts_with("第 2 行 rules.standard：取值无效，应为数"),
            "{m}"
        );
        let m = zh("[engine]\ntables = \"ssd\"\n");
        assert!(
            m.starts_with("第 2 行 engine.tables：不是可选的取值之一"),
            "{m}"
        );
        let m = zh("[rules]\nstandard = 800.0\nstandard = 900.0\n");
        assert!(m.starts_with("第 3 行 rules.standard：键重复出现"), "{m}");
        // A name quoted from the line is masked, the key's path kept.
        let m = zh("[input.files]\n\"欧阳锋华.xlsx\" = 3\n");
        assert!(m.contains("欧**华") && !m.contains("欧阳锋华"), "{m}");
        let m = zh("[rules\n");
        assert!(m.starts_with("第 1 行"), "{m}");
        assert!(m.contains("TOML 语法错误"), "{m}");
    }

    #[test]
    fn example_config_parses_to_the_defaults_it_documents() {
        let parsed = Config::parse(EXAMPLE, "example").unwrap();
        assert_eq!(
            parsed.rules,
            RulesConfig {
                township_standard: parsed.rules.township_standard.clone(),
                ..RulesConfig::default()
            }
        );
        assert_eq!(parsed.input.max_reject_rate, 0.05);
        assert_eq!(parsed.engine, EngineConfig::default());
    }

    /// An empty state_dir named no folder: the lock file could not be
    /// opened (exit 1, an internal error) instead of a config error.
    #[test]
    fn a_config_saved_with_a_bom_or_in_gb18030_reads_as_in_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[extracts.roster.aliases]\nname = [\"成员姓名\"]\n";
        let utf8 = Config::parse(text, "t.toml").unwrap();
        let (gbk, _, _) = encoding_rs::GB18030.encode(text);
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend_from_slice(text.as_bytes());
        for (name, bytes) in [("gbk.toml", gbk.to_vec()), ("bom.toml", bom)] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let loaded = Config::load(Some(&path)).unwrap();
            assert_eq!(loaded.config, utf8, "{name}");
            // The manifest's hash is of the file as it is.
            use sha2::{Digest, Sha256};
            assert_eq!(loaded.sha256, hex::encode(Sha256::digest(&bytes)));
        }
        let path = dir.path().join("binary.toml");
        std::fs::write(&path, [0x81u8, 0x20, 0xff, 0xfe, 0x00]).unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("UTF-8") && err.contains("binary.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_state_dir_under_the_home_folder_is_expanded() {
        let home = Some(std::ffi::OsString::from("/home/mz"));
        let e = |p: &str| home_expanded(PathBuf::from(p), home.clone());
        assert_eq!(e("~/hedui/state"), PathBuf::from("/home/mz/hedui/state"));
        assert_eq!(e("~"), PathBuf::from("/home/mz"));
        // Only a whole first component: another user's home, a name
        // beginning with ~, and a ~ further on stay as written.
        assert_eq!(e("~other/s"), PathBuf::from("~other/s"));
        assert_eq!(e("/srv/~/s"), PathBuf::from("/srv/~/s"));
        assert_eq!(e("state"), PathBuf::from("state"));
        assert_eq!(
            home_expanded(PathBuf::from("~/s"), None),
            PathBuf::from("~/s")
        );
        // Through the config's own parse, with the process's home.
        if let Some(h) = std::env::var_os("HOME") {
            let c = Config::parse("state_dir = \"~/s\"\n", "t.toml").unwrap();
            assert_eq!(c.state_dir, Some(PathBuf::from(h).join("s")));
        }
    }

    #[test]
    fn an_empty_state_dir_is_a_config_error() {
        let err = Config::parse("state_dir = \"\"\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("state_dir"), "{err}");
        assert!(Config::parse("state_dir = \"s\"\n", "t.toml").is_ok());
    }

    #[test]
    fn engine_tables_go_to_disk_above_the_threshold_or_when_told() {
        let auto = EngineConfig::default();
        assert!(!auto.on_disk(2048 << 20, None));
        assert!(auto.on_disk((2048 << 20) + 1, None));
        // A batch whose tables would not fit in the memory left goes to
        // disk however small: 1 GB needs about 11 GB.
        assert!(!auto.on_disk(1 << 30, Some(16 << 30)));
        assert!(auto.on_disk(1 << 30, Some(8 << 30)));
        assert!(auto.on_disk(100 << 20, Some(1 << 30)));
        let parsed = Config::parse("[engine]\ntables = \"disk\"\n", "t.toml").unwrap();
        assert!(parsed.engine.on_disk(0, None));
        let parsed = Config::parse("[engine]\ntables = \"memory\"\n", "t.toml").unwrap();
        assert!(!parsed.engine.on_disk(u64::MAX, Some(0)));
        let err = Config::parse("[engine]\ntables = \"ssd\"\n", "t.toml").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
        let err = Config::parse("[engine]\nmemory_limit_mb = 10\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("engine.memory_limit_mb"), "{err}");
    }

    #[test]
    fn unknown_key_is_a_parse_error() {
        let err = Config::parse("[rules]\nstandrad = 900\n", "t.toml").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("standrad"));
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let err = Config::parse(
            "[rules]\nstandard = -1\nreimbursement_floor = 1.5\n[input]\noptional = [\"roster\", \"nope\"]\n",
            "t.toml",
        )
        .unwrap_err();
        let ConfigError::Invalid { problems, .. } = err else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    /// A value typed where a grade, a severity or a rule code belongs is
    /// quoted masked: it may be a person's name (helper-160's audit: a
    /// name given as a severity was printed whole).
    #[test]
    fn a_bad_value_is_quoted_masked() {
        let err = Config::parse(
            "[rules]\ndangerous_grades = [\"王小明\"]\n[rules.severity]\nCB01 = \"张风\"\n\"李娜芳\" = \"高\"\n",
            "t.toml",
        )
        .unwrap_err();
        let shown = err.to_string();
        for whole in ["王小明", "张风", "李娜芳"] {
            assert!(!shown.contains(whole), "{shown}");
        }
        for masked in ["(got 王*明)", "(got 张*)", "unknown rule code 李*芳"] {
            assert!(shown.contains(masked), "{shown}");
        }
    }

    /// A threshold finer than the unit the rules compare in would be
    /// rounded, deciding cases at the line the wrong way: refused.
    #[test]
    fn a_threshold_finer_than_its_unit_is_a_config_error() {
        let text = "[rules]\nstandard = 800.005\noop_threshold = 19999.991\n\
                    reimbursement_floor = 0.69995\ndeclared_income_margin = 0.30001\n\
                    income_factor = 1.0005\n[rules.township_standard]\n\"河西乡\" = 819.995\n";
        let ConfigError::Invalid { problems, .. } = Config::parse(text, "t.toml").unwrap_err()
        else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(
            problems.iter().all(|p| p.contains("位小数")),
            "{problems:?}"
        );
        let fine = "[rules]\nstandard = 800.05\noop_threshold = 19999.99\n\
                    reimbursement_floor = 0.6999\ndeclared_income_margin = 0.3\n\
                    income_factor = 1.005\nincome_factor_low_income = 1.5\n\
                    reimbursement_floor_low_income = 0.55\n[rules.township_standard]\n\"河西乡\" = 819.1\n";
        Config::parse(fine, "t.toml").unwrap();
    }

    /// A township's standard names the township as the roster's cells hold
    /// it: spaces around it or a full-width form are the same name, so two
    /// keys of one name, or a blank one, are refused; the rules take the
    /// name in that form.
    #[test]
    fn a_township_is_named_as_the_roster_holds_it() {
        let text = "[rules.township_standard]\n\" 河西乡 \" = 850.0\n\"城关 镇\" = 900.0\n";
        let config = Config::parse(text, "t.toml").unwrap();
        let params = crate::run::rule_params(&config, chrono::NaiveDate::MIN);
        let names: Vec<&str> = params
            .township_standard_fen
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["城关 镇", "河西乡"]);
        assert_eq!(params.township_standard_fen["河西乡"], 85_000);
        let text = "[rules.township_standard]\n\" 河西乡\" = 850.0\n\"河西乡\" = 900.0\n\
                    \"\u{3000}\" = 800.0\n";
        let ConfigError::Invalid { problems, .. } = Config::parse(text, "t.toml").unwrap_err()
        else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        let said = |what: &str| problems.iter().filter(|p| p.contains(what)).count();
        assert_eq!(said("是同一乡镇「河西乡」"), 1, "{problems:?}");
        assert_eq!(said("乡镇名为空"), 1, "{problems:?}");
    }

    #[test]
    fn an_alias_that_is_another_field_s_header_is_a_config_error() {
        let text = "[extracts.medical_settlement.aliases]\n\
                    name = [\"病人姓名\", \"身份证号\"]\n\
                    id_number = [\"证件号码\", \"病人姓名 \"]\n";
        let err = Config::parse(text, "t.toml").unwrap_err();
        let ConfigError::Invalid { problems, .. } = err else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("身份证号") && p.contains("id_number"))
        );
        // Configured aliases clash too (compared as headers are matched).
        assert!(
            problems
                .iter()
                .any(|p| p.contains("病人姓名") && p.contains("already a header"))
        );
        // An empty alias (or one of blanks) matches no header.
        let text = "[extracts.contribution.aliases]\nperiod = [\"\", \" \"]\n";
        let Err(ConfigError::Invalid { problems, .. }) = Config::parse(text, "t.toml") else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("extracts.contribution.aliases.period：别名不能为空"));
        // New headers, and a field's own header, are fine.
        let text = "[extracts.medical_settlement.aliases]\n\
                    name = [\"病人姓名\", \"姓名\"]\nid_number = [\"证件号码\"]\n";
        Config::parse(text, "t.toml").unwrap();
        // A header with a note is matched as written before a cell whose
        // note is cut off: another field's header with a note is free.
        let text = "[extracts.roster.aliases]\n\
                    head_id = [\"身份证号（户主）\"]\nid_number = [\"身份证号（成员）\"]\n\
                    head_name = [\"姓名（户主）\"]\nname = [\"姓名（成员）\"]\n";
        Config::parse(text, "t.toml").unwrap();
        // But not twice, nor a field's own header written with its unit.
        let text = "[extracts.roster.aliases]\n\
                    head_id = [\"身份证号（户主）\"]\nid_number = [\"身份证号 (户主)\"]\n\
                    declared_income = [\"月保障金（元）\"]\n";
        let Err(ConfigError::Invalid { problems, .. }) = Config::parse(text, "t.toml") else {
            panic!("expected Invalid")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("monthly_benefit")),
            "{problems:?}"
        );
        // Another field's header however its unit or brackets are written.
        for alias in [
            "declared_income = [\"月保障金【元】\"]",
            "declared_income = [\"月保障金（单位：元）\"]",
            "declared_income = [\"月保障金（人民币元）\"]",
            "declared_income = [\"月保障金（元）（必填）\"]",
            "village = [\"乡镇【街道】\"]",
        ] {
            let text = format!("[extracts.roster.aliases]\n{alias}\n");
            assert!(Config::parse(&text, "t.toml").is_err(), "{alias}");
        }
    }

    #[test]
    fn rule_codes() {
        assert!(is_rule_code("CB01") && is_rule_code("DQ06") && is_rule_code("LB04"));
        assert!(!is_rule_code("CB06") && !is_rule_code("DY00") && !is_rule_code("XX01"));
    }
}
