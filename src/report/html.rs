//! report.html: one self-contained page (inline CSS, SVG and script; no
//! network, no external fonts) for reading a run in a browser. The summary
//! is drawn here in Rust as SVG bar charts (findings per rule, per township
//! by kind) with the rule × township table; the findings — a county has tens
//! of thousands — are embedded once as JSON in a `<script
//! type="application/json">` and the page's script searches, filters (rule,
//! kind, township, severity, case status), sorts and pages them, keeping the
//! view in the URL hash (`#rule=CB01&q=城关`) so a filtered view can be
//! linked. Masked like report.xlsx; the same report gives the same bytes.

use std::fmt::Write as _;

use crate::report::findings::FindingRow;
use crate::report::people::PeopleReport;
use crate::report::view::{self, HEADERS, NO_TOWNSHIP, Summary};
use crate::rules::RULES;

/// Findings shown per page of the table.
pub const PAGE_SIZE: usize = 100;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that is safe inside a `<script>` element: no `<`, `>` or `&` can
/// close the element or open a comment (`</script>`, `<!--`), and the line
/// separators U+2028/U+2029 are escaped too.
pub fn script_json(value: &impl serde::Serialize) -> String {
    let mut out = Vec::new();
    write_script_json(&mut out, value).expect("the page's data serialises");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// [`script_json`] of `value` written to `out` as it is serialised: a
/// city's findings are some hundreds of megabytes of JSON, not held whole.
pub fn write_script_json(
    out: &mut impl std::io::Write,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut json = std::io::BufWriter::with_capacity(
        64 * 1024,
        ScriptSafe {
            out,
            held: Vec::new(),
        },
    );
    serde_json::to_writer(&mut json, value)?;
    json.flush()?;
    let safe = json.into_inner().map_err(|e| e.into_error())?;
    // Only a separator cut short could be held, which JSON never ends with.
    safe.out.write_all(&safe.held)
}

/// Passes JSON on with the characters [`script_json`] escapes escaped.
struct ScriptSafe<W> {
    out: W,
    /// The start of a line separator (E2, or E2 80) that a write ended
    /// with: it is judged with the bytes that follow.
    held: Vec<u8>,
}

impl<W: std::io::Write> std::io::Write for ScriptSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let joined;
        let bytes = if self.held.is_empty() {
            buf
        } else {
            self.held.extend_from_slice(buf);
            joined = std::mem::take(&mut self.held);
            &joined[..]
        };
        let keep = if bytes.ends_with(&[0xE2]) {
            1
        } else if bytes.ends_with(&[0xE2, 0x80]) {
            2
        } else {
            0
        };
        let (now, later) = bytes.split_at(bytes.len() - keep);
        // Copied a span at a time: the characters to escape are rare, and
        // U+2028/U+2029 are the bytes E2 80 A8/A9.
        let mut start = 0;
        let mut i = 0;
        while i < now.len() {
            let (escaped, len): (&[u8], usize) = match now[i] {
                b'<' => (b"\\u003c", 1),
                b'>' => (b"\\u003e", 1),
                b'&' => (b"\\u0026", 1),
                0xE2 if now[i + 1..].starts_with(&[0x80, 0xA8]) => (b"\\u2028", 3),
                0xE2 if now[i + 1..].starts_with(&[0x80, 0xA9]) => (b"\\u2029", 3),
                _ => {
                    i += 1;
                    continue;
                }
            };
            self.out.write_all(&now[start..i])?;
            self.out.write_all(escaped)?;
            i += len;
            start = i;
        }
        self.out.write_all(&now[start..])?;
        self.held.extend_from_slice(later);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn kind_color(kind: &str) -> &'static str {
    match kind {
        "错保" => "#c0392b",
        "漏保" => "#d68910",
        "待遇未落实" => "#2874a6",
        "数据核查" => "#7f8c8d",
        _ => "#566573",
    }
}

const KINDS: [&str; 4] = ["错保", "漏保", "待遇未落实", "数据核查"];

/// Renders the page.
pub fn render(report: &PeopleReport) -> String {
    let mut page = Vec::new();
    render_to(&mut page, report).expect("writing to memory does not fail");
    String::from_utf8(page).expect("the page is UTF-8")
}

/// Writes the page of [`render`] to `out` as it is made: the findings'
/// data, most of a large page, is serialised straight into it, not held
/// as a string and copied into the page (a city's page is some hundreds
/// of megabytes).
pub fn render_to(out: &mut impl std::io::Write, report: &PeopleReport) -> std::io::Result<()> {
    let summary = view::summary(report);
    let m = report.manifest;
    let title = format!("核对结果 {}", m.as_of);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    )?;
    writeln!(
        out,
        "<header><h1>{}</h1><p>核对基准日 <b>{}</b> · 本次发现 <b>{}</b> 条（其中已核销 {}）· 已消失 {} · <span class=\"{}\">{}</span> · {} {}</p></header>",
        escape(&title),
        escape(&m.as_of),
        summary.total,
        summary.dismissed,
        summary.disappeared,
        if report.masked { "masked" } else { "unmasked" },
        escape(view::masking_note(report.masked)),
        escape(m.tool),
        escape(m.version),
    )?;
    out.write_all(notes_section(report).as_bytes())?;
    out.write_all("<section class=\"charts\">\n".as_bytes())?;
    out.write_all("<figure><figcaption>各规则发现数</figcaption>\n".as_bytes())?;
    out.write_all(rule_chart(&summary).as_bytes())?;
    out.write_all(
        "</figure>\n<figure><figcaption>各乡镇发现数（按类别）</figcaption>\n".as_bytes(),
    )?;
    out.write_all(township_chart(&summary).as_bytes())?;
    out.write_all("</figure>\n</section>\n".as_bytes())?;
    out.write_all(summary_table(&summary).as_bytes())?;
    out.write_all(inputs_table(report).as_bytes())?;
    findings_section(out, report, &summary)?;
    out.write_all("</body>\n</html>\n".as_bytes())?;
    Ok(())
}

/// Horizontal bars, one per rule of the catalogue, coloured by kind.
fn rule_chart(s: &Summary) -> String {
    let (label_w, bar_w, row_h) = (180.0, 380.0, 22.0);
    let max = s.rules.iter().map(|r| r.total).max().unwrap_or(0).max(1) as f64;
    let height = row_h * s.rules.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"各规则发现数\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\">\n",
        w = label_w + bar_w + 60.0
    );
    for (i, r) in s.rules.iter().enumerate() {
        let y = 5.0 + row_h * i as f64;
        let w = (r.total as f64 / max * bar_w).round();
        let name = format!("{} {}", r.code, r.label);
        if r.skipped {
            let _ = writeln!(
                svg,
                "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
                 <text x=\"{label_w}\" y=\"{ty}\" class=\"skipped\">{skipped}</text>",
                tx = label_w - 6.0,
                ty = y + 15.0,
                label = escape(&name),
                skipped = escape(view::SKIPPED),
            );
            continue;
        }
        let _ = writeln!(
            svg,
            "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{label_w}\" y=\"{ry}\" width=\"{w}\" height=\"{rh}\" fill=\"{color}\"><title>{label}（{kind}）：{n}</title></rect>\
             <text x=\"{nx}\" y=\"{ty}\">{n}</text>",
            tx = label_w - 6.0,
            ty = y + 15.0,
            label = escape(&name),
            ry = y + 3.0,
            rh = row_h - 6.0,
            color = kind_color(&r.kind),
            kind = escape(&r.kind),
            n = r.total,
            nx = label_w + w + 4.0,
        );
    }
    svg.push_str("</svg>\n");
    svg.push_str(&legend());
    svg
}

/// Horizontal bars per township, stacked by kind.
fn township_chart(s: &Summary) -> String {
    if s.townships.is_empty() {
        return "<p class=\"empty\">本次无发现</p>\n".to_string();
    }
    let (label_w, bar_w, row_h) = (120.0, 400.0, 22.0);
    let per_kind: Vec<Vec<u64>> = s
        .townships
        .iter()
        .enumerate()
        .map(|(t, _)| {
            KINDS
                .iter()
                .map(|k| {
                    s.rules
                        .iter()
                        .filter(|r| r.kind == *k)
                        .map(|r| r.counts[t])
                        .sum()
                })
                .collect()
        })
        .collect();
    let max = s.township_totals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let height = row_h * s.townships.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"各乡镇发现数\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\">\n",
        w = label_w + bar_w + 60.0
    );
    for (t, township) in s.townships.iter().enumerate() {
        let y = 5.0 + row_h * t as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 15.0,
            escape(township)
        );
        let mut x = label_w;
        for (k, n) in per_kind[t].iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let w = (*n as f64 / max * bar_w).round();
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{} {}：{n}</title></rect>",
                y + 3.0,
                row_h - 6.0,
                kind_color(KINDS[k]),
                escape(township),
                KINDS[k],
            );
            x += w;
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            x + 4.0,
            y + 15.0,
            s.township_totals[t]
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn legend() -> String {
    let mut l = String::from("<p class=\"legend\">");
    for k in KINDS {
        let _ = write!(
            l,
            "<span><i style=\"background:{}\"></i>{k}</span>",
            kind_color(k)
        );
    }
    l.push_str("</p>\n");
    l
}

fn summary_table(s: &Summary) -> String {
    let mut t = String::from(
        "<section><h2>各规则分乡镇发现数</h2><div class=\"scroll\"><table class=\"counts\"><thead><tr><th>规则</th><th>名称</th><th>类别</th>",
    );
    for township in &s.townships {
        let _ = write!(t, "<th>{}</th>", escape(township));
    }
    t.push_str("<th>合计</th></tr></thead><tbody>\n");
    for r in &s.rules {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            escape(&r.code),
            escape(&r.label),
            escape(&r.kind)
        );
        if r.skipped {
            let _ = writeln!(
                t,
                "<td colspan=\"{}\" class=\"skipped\">{}</td></tr>",
                r.counts.len() + 1,
                escape(view::SKIPPED)
            );
            continue;
        }
        for n in &r.counts {
            let _ = write!(t, "<td class=\"n\">{n}</td>");
        }
        let _ = writeln!(t, "<td class=\"n\"><b>{}</b></td></tr>", r.total);
    }
    t.push_str("</tbody><tfoot><tr><th colspan=\"3\">合计</th>");
    for n in &s.township_totals {
        let _ = write!(t, "<th class=\"n\">{n}</th>");
    }
    let _ = writeln!(
        t,
        "<th class=\"n\">{}</th></tr></tfoot></table></div></section>",
        s.total
    );
    t
}

/// The run's notes ([`view::run_notes`]), when there are any.
fn notes_section(report: &PeopleReport) -> String {
    let notes = view::run_notes(report);
    if notes.is_empty() {
        return String::new();
    }
    let mut t = format!(
        "<section class=\"notes\"><h2>{}</h2><ul>\n",
        view::NOTES_TITLE
    );
    for note in &notes {
        let _ = writeln!(t, "<li>{}</li>", escape(note));
    }
    t.push_str("</ul></section>\n");
    t
}

fn inputs_table(report: &PeopleReport) -> String {
    let mut t = String::from(
        "<section><h2>输入文件</h2><div class=\"scroll\"><table class=\"counts\"><thead><tr><th>抽取</th><th>文件</th><th>读取</th><th>接受</th><th>拒绝</th><th>跳过</th><th>重复</th></tr></thead><tbody>\n",
    );
    for a in &report.manifest.inputs {
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&a.extract),
            escape(&crate::report::mask::mask_file_name(&a.file, report.masked)),
            a.rows_read,
            a.rows_accepted,
            a.rows_rejected,
            a.rows_skipped,
            a.rows_duplicate
        );
    }
    t.push_str("</tbody></table></div></section>\n");
    t
}

fn options(id: &str, all: &str, values: &[(String, String)]) -> String {
    let mut s = format!(
        "<select id=\"{id}\"><option value=\"\">{}</option>",
        escape(all)
    );
    for (value, label) in values {
        let _ = write!(
            s,
            "<option value=\"{}\">{}</option>",
            escape(value),
            escape(label)
        );
    }
    s.push_str("</select>");
    s
}

/// The data of the findings table, as the page's script reads it (keys in
/// the order serde_json's own maps keep them).
#[derive(serde::Serialize)]
struct ScriptData<'a> {
    columns: &'a [&'a str],
    #[serde(rename = "noTownship")]
    no_township: &'a str,
    #[serde(rename = "pageSize")]
    page_size: usize,
    rows: ScriptRows<'a>,
}

/// Every finding of the tables as a [`ScriptRow`], in order, made a block
/// at a time as they are written: a city's 1.5 million findings held as
/// cells at once took 0.7 GB more memory than the rest of the run
/// (BENCHMARKS.md, session 63).
struct ScriptRows<'a> {
    report: &'a PeopleReport<'a>,
    tables: &'a [(String, Vec<&'a FindingRow>)],
}

impl ScriptRows<'_> {
    /// Findings made into cells at once (side by side: see view::cells_of).
    const BLOCK: usize = 16 * 1024;

    fn len(&self) -> usize {
        self.tables.iter().map(|(_, list)| list.len()).sum()
    }
}

impl serde::Serialize for ScriptRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for (table, list) in self.tables {
            for block in list.chunks(Self::BLOCK) {
                for (r, cells) in block.iter().zip(view::cells_of(self.report, block)) {
                    seq.serialize_element(&ScriptRow {
                        cells,
                        rule: &r.rule,
                        table,
                    })?;
                }
            }
        }
        seq.end()
    }
}

/// One finding in the page's data: its cells, then its rule and the table
/// (sheet) it is listed in, as one array.
struct ScriptRow<'a> {
    cells: [String; 15],
    rule: &'a str,
    table: &'a str,
}

impl serde::Serialize for ScriptRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(Some(self.cells.len() + 2))?;
        for cell in &self.cells {
            seq.serialize_element(cell)?;
        }
        seq.serialize_element(self.rule)?;
        seq.serialize_element(self.table)?;
        seq.end()
    }
}

/// The findings table: filters rendered here, the rows as JSON, paged by
/// the script.
fn findings_section(
    page: &mut impl std::io::Write,
    report: &PeopleReport,
    s: &Summary,
) -> std::io::Result<()> {
    let tables = view::tables(report);
    // The case status is a cell as it stands (view::cells).
    let mut statuses = std::collections::BTreeSet::new();
    for (_, list) in &tables {
        for r in list {
            statuses.insert(r.case_status.as_str());
        }
    }
    let rows = ScriptRows {
        report,
        tables: &tables,
    };
    let total = rows.len();
    let data = ScriptData {
        columns: &HEADERS,
        no_township: NO_TOWNSHIP,
        page_size: PAGE_SIZE,
        rows,
    };
    let rule_options: Vec<(String, String)> = RULES
        .iter()
        .map(|r| (r.code.to_string(), format!("{} {}", r.code, r.label)))
        .collect();
    let kind_options: Vec<(String, String)> = KINDS
        .iter()
        .map(|k| (k.to_string(), k.to_string()))
        .collect();
    let township_options: Vec<(String, String)> =
        s.townships.iter().map(|t| (t.clone(), t.clone())).collect();
    let severity_options: Vec<(String, String)> = ["高", "中", "低"]
        .iter()
        .map(|k| (k.to_string(), k.to_string()))
        .collect();
    let status_options: Vec<(String, String)> = statuses
        .into_iter()
        .map(|st| match st {
            "" => ("-".to_string(), "（无状态）".to_string()),
            st => (st.to_string(), st.to_string()),
        })
        .collect();
    let mut out =
        String::from("<section id=\"findings\"><h2>发现明细</h2>\n<div class=\"filters\">");
    out.push_str(
        "<input id=\"q\" type=\"search\" placeholder=\"搜索：户编号、姓名、村、核查依据…\" aria-label=\"搜索\">",
    );
    out.push_str(&options("f-rule", "全部规则", &rule_options));
    out.push_str(&options("f-kind", "全部类别", &kind_options));
    out.push_str(&options("f-township", "全部乡镇", &township_options));
    out.push_str(&options("f-severity", "全部严重程度", &severity_options));
    out.push_str(&options("f-status", "全部案件状态", &status_options));
    out.push_str("<button id=\"reset\" type=\"button\">清除筛选</button></div>\n");
    let _ = writeln!(
        out,
        "<p class=\"pager\"><span id=\"count\">共 {total} 条</span> <button id=\"prev\" type=\"button\">上一页</button> <span id=\"page\"></span> <button id=\"next\" type=\"button\">下一页</button></p>"
    );
    out.push_str("<div class=\"scroll\"><table id=\"table\"><thead><tr>");
    for (i, h) in HEADERS.iter().enumerate() {
        let _ = write!(
            out,
            "<th data-col=\"{i}\" title=\"点击排序\">{}</th>",
            escape(h)
        );
    }
    out.push_str("</tr></thead><tbody id=\"rows\"></tbody></table></div>\n");
    out.push_str("<noscript><p>表格需要启用 JavaScript；汇总见上。</p></noscript></section>\n");
    out.push_str("<script type=\"application/json\" id=\"data\">");
    page.write_all(out.as_bytes())?;
    write_script_json(page, &data)?;
    write!(page, "</script>\n<script>{SCRIPT}</script>\n")
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0 1.5rem 2rem;color:#1c2833;font-size:14px}
h1{font-size:1.5rem;margin:1rem 0 .3rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
header p{margin:.2rem 0;color:#424949}.masked{color:#1e8449}.unmasked{color:#c0392b;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:2rem}figure{margin:0}figcaption{font-weight:bold;margin:.8rem 0 .3rem}
.chart text{font-size:12px;fill:#1c2833}.legend span{margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.scroll{overflow-x:auto}table{border-collapse:collapse}th,td{border:1px solid #d5d8dc;padding:.25rem .45rem;text-align:left;vertical-align:top}
thead th{background:#ebf5fb;position:sticky;top:0}td.n,th.n{text-align:right}
#table th{cursor:pointer;white-space:nowrap}#table th.asc::after{content:" ▲"}#table th.desc::after{content:" ▼"}
#table td{max-width:32rem;overflow-wrap:anywhere}#table tbody tr:nth-child(even){background:#f8f9f9}
.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}.filters input{min-width:18rem}
.pager{margin:.5rem 0}#count{font-weight:bold;margin-right:1rem}
.notes ul{margin:.3rem 0;padding-left:1.2rem;color:#7e5109}.skipped{color:#7f8c8d;font-style:italic}.chart text.skipped{fill:#7f8c8d}
"#;

/// The table's script: state ⇄ URL hash, filter, sort, page. Cells are set
/// with textContent, never parsed as HTML.
const SCRIPT: &str = r##"
(function(){
"use strict";
var data=JSON.parse(document.getElementById("data").textContent);
var rows=data.rows,size=data.pageSize,noT=data.noTownship;
var COL={kind:2,severity:3,township:7,status:12,rule:15};
var text=rows.map(function(r){return r.slice(0,15).join("\u0001").toLowerCase();});
var keys=["q","rule","kind","township","severity","status","sort","dir","page"];
var state={};
var sel={rule:"f-rule",kind:"f-kind",township:"f-township",severity:"f-severity",status:"f-status"};
function readHash(){
  var p=new URLSearchParams(location.hash.replace(/^#/,""));
  state={};keys.forEach(function(k){var v=p.get(k);if(v!==null&&v!=="")state[k]=v;});
}
function writeHash(){
  var p=new URLSearchParams();
  keys.forEach(function(k){if(state[k]!==undefined&&state[k]!=="")p.set(k,state[k]);});
  var h=p.toString();
  history.replaceState(null,"",h?"#"+h:location.pathname+location.search);
}
function value(r,k){
  if(k==="township")return r[COL.township]||noT;
  if(k==="status")return r[COL.status]||"-";
  return r[COL[k]];
}
function filtered(){
  var q=(state.q||"").toLowerCase(),out=[];
  for(var i=0;i<rows.length;i++){
    var r=rows[i],ok=true;
    for(var k in sel){if(state[k]&&value(r,k)!==state[k]){ok=false;break;}}
    if(ok&&q&&text[i].indexOf(q)<0)ok=false;
    if(ok)out.push(r);
  }
  if(state.sort!==undefined){
    var c=+state.sort,d=state.dir==="desc"?-1:1;
    out=out.map(function(r,i){return [r,i];});
    var rank=c===COL.severity?{"高":0,"中":1,"低":2}:null;
    var key=function(v){return rank&&v in rank?rank[v]:v;};
    out.sort(function(a,b){var x=key(a[0][c]),y=key(b[0][c]);return x<y?-d:x>y?d:a[1]-b[1];});
    out=out.map(function(p){return p[0];});
  }
  return out;
}
function render(){
  var list=filtered(),pages=Math.max(1,Math.ceil(list.length/size));
  var page=Math.min(Math.max(1,parseInt(state.page||"1",10)||1),pages);
  document.getElementById("count").textContent="共 "+list.length+" 条";
  document.getElementById("page").textContent="第 "+page+" / "+pages+" 页";
  document.getElementById("prev").disabled=page<=1;
  document.getElementById("next").disabled=page>=pages;
  var body=document.getElementById("rows"),frag=document.createDocumentFragment();
  list.slice((page-1)*size,page*size).forEach(function(r){
    var tr=document.createElement("tr");
    for(var c=0;c<15;c++){var td=document.createElement("td");td.textContent=r[c];tr.appendChild(td);}
    frag.appendChild(tr);
  });
  body.textContent="";body.appendChild(frag);
  document.querySelectorAll("#table th").forEach(function(th){
    th.classList.remove("asc","desc");
    if(state.sort===th.dataset.col)th.classList.add(state.dir==="desc"?"desc":"asc");
  });
  document.getElementById("q").value=state.q||"";
  for(var k in sel)document.getElementById(sel[k]).value=state[k]||"";
}
function update(change){
  for(var k in change){if(change[k]===""||change[k]===undefined)delete state[k];else state[k]=change[k];}
  if(!("page" in change))delete state.page;
  writeHash();render();
}
document.getElementById("q").addEventListener("input",function(e){update({q:e.target.value});});
Object.keys(sel).forEach(function(k){
  document.getElementById(sel[k]).addEventListener("change",function(e){var c={};c[k]=e.target.value;update(c);});
});
document.getElementById("reset").addEventListener("click",function(){state={};writeHash();render();});
document.getElementById("prev").addEventListener("click",function(){update({page:String((parseInt(state.page||"1",10)||1)-1)});});
document.getElementById("next").addEventListener("click",function(){update({page:String((parseInt(state.page||"1",10)||1)+1)});});
document.querySelectorAll("#table th").forEach(function(th){
  th.addEventListener("click",function(){
    var same=state.sort===th.dataset.col;
    update({sort:th.dataset.col,dir:same&&state.dir!=="desc"?"desc":"asc"});
  });
});
window.addEventListener("hashchange",function(){readHash();render();});
readHash();render();
})();
"##;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::view::tests::{finding, manifest, masked_report};

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("城关镇"), "城关镇");
    }

    #[test]
    fn script_json_cannot_close_the_script_element() {
        let v = serde_json::json!([
            "</script><script>alert(1)</script>",
            "<!--",
            "a&b",
            "x\u{2028}y"
        ]);
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert!(!s.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v, "still the same JSON");
    }

    /// Written as serialised, the JSON is escaped as the whole string
    /// would be, a line separator cut in two between writes too.
    #[test]
    fn script_json_written_in_pieces_escapes_separators_cut_in_two() {
        use std::io::Write as _;
        let json = "[\"a\u{2028}b\u{2029}<c>&\u{2027}末\"]";
        let whole = json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029");
        for cut in 0..=json.len() {
            for second in cut..=json.len() {
                let mut safe = ScriptSafe {
                    out: Vec::new(),
                    held: Vec::new(),
                };
                let bytes = json.as_bytes();
                for piece in [&bytes[..cut], &bytes[cut..second], &bytes[second..]] {
                    safe.write_all(piece).unwrap();
                }
                assert!(safe.held.is_empty(), "cut at {cut} and {second}");
                assert_eq!(
                    String::from_utf8(safe.out).unwrap(),
                    whole,
                    "cut at {cut} and {second}"
                );
            }
        }
        let v = serde_json::json!(["\u{2028}".repeat(40_000), "</script>"]);
        assert_eq!(
            script_json(&v),
            serde_json::to_string(&v)
                .unwrap()
                .replace('\u{2028}', "\\u2028")
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
        );
    }

    #[test]
    fn a_file_named_with_an_id_number_is_masked_in_the_inputs_table() {
        let mut m = manifest();
        m.inputs[0].file = "roster_张三_341122198507027077.xlsx".into();
        let rows = vec![];
        let reviews = BTreeMap::new();
        let mut report = masked_report(&m, &rows, &reviews);
        let page = render(&report);
        assert!(!page.contains("341122198507027077"));
        assert!(!page.contains("张三"));
        assert!(
            page.contains("roster_张*_341122********7077.xlsx"),
            "{page}"
        );
        report.masked = false;
        assert!(render(&report).contains("341122198507027077"));
    }

    #[test]
    fn page_is_self_contained_masked_and_escaped() {
        let m = manifest();
        let mut hostile = finding("CB01", "城关镇", "110105199001011234", "张三明");
        hostile.village = "</script><b>村</b>".to_string();
        let rows = vec![hostile, finding("DQ02", "", "110105199001011235", "李四")];
        let reviews = BTreeMap::new();
        let report = masked_report(&m, &rows, &reviews);
        let page = render(&report);
        assert_eq!(page, render(&report), "same report, same bytes");
        for external in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(!page.contains("110105199001011234"));
        assert!(!page.contains("张三明"));
        assert!(page.contains("110105********1234"));
        assert!(page.contains("张*明"));
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the two real ends"
        );
        assert!(page.contains("<span id=\"count\">共 2 条</span>"));
        assert!(page.contains(">CB01 收入超标</text>"));
        assert!(page.contains(&format!(">{NO_TOWNSHIP}</text>")));
        assert!(!page.contains(view::NOTES_TITLE), "nothing to note");
        assert!(!page.contains(view::SKIPPED));
    }

    /// A rule that did not run shows as skipped in the chart and the
    /// table, with no count; the run's notes head the page, escaped.
    #[test]
    fn a_skipped_rule_shows_no_count_and_the_notes_head_the_page() {
        let mut m = manifest();
        m.missing_optional = vec!["unemployment".into()];
        m.problems = vec!["<b>LB04</b> skipped".into()];
        let (rows, reviews) = (vec![], BTreeMap::new());
        let page = render(&masked_report(&m, &rows, &reviews));
        let notes = page.find("<h2>运行提示</h2>").expect("the notes");
        assert!(
            notes < page.find("各规则发现数").unwrap(),
            "before the charts"
        );
        assert!(page.contains("<li>&lt;b&gt;LB04&lt;/b&gt; skipped</li>"));
        let chart = page.find(">LB04 ").unwrap();
        assert!(page[chart..].starts_with(&format!(
            ">LB04 {}</text><text x=\"180\" y=\"",
            crate::rules::rule_info("LB04").unwrap().label
        )));
        assert!(page[chart..chart + 400].contains(view::SKIPPED));
        let row = page.find("<tr><td>LB04</td>").unwrap();
        let row = &page[row..row + page[row..].find("</tr>").unwrap()];
        assert!(row.contains(&format!("class=\"skipped\">{}</td>", view::SKIPPED)));
        assert!(!row.contains("class=\"n\""), "no count: {row}");
    }

    /// The rows are made a block at a time as they are written: all of
    /// them, in table order, across blocks and tables.
    #[test]
    fn the_script_rows_are_every_finding_in_table_order_across_blocks() {
        let m = manifest();
        let id = |i: usize| format!("1101051990{i:08}");
        let mut rows: Vec<FindingRow> = (0..ScriptRows::BLOCK + 1)
            .map(|i| finding("CB01", "城关镇", &id(i), "张三"))
            .collect();
        rows.push(finding("DQ02", "城关镇", &id(999_999), "李四"));
        rows[5].case_status = "持续".to_string();
        let reviews = BTreeMap::new();
        let report = masked_report(&m, &rows, &reviews);
        let page = render(&report);
        let start = "<script type=\"application/json\" id=\"data\">";
        let json = &page[page.find(start).unwrap() + start.len()..];
        let json = &json[..json.find("</script>").unwrap()];
        let data: serde_json::Value = serde_json::from_str(json).unwrap();
        let got = data["rows"].as_array().unwrap();
        assert_eq!(got.len(), rows.len());
        for (i, (got, want)) in got.iter().zip(&rows).enumerate() {
            assert_eq!(got[0], want.finding_id.as_str(), "row {i}");
            assert_eq!(got[12], want.case_status.as_str(), "row {i}");
            assert_eq!(got[15], want.rule.as_str(), "row {i}");
        }
        let tables: Vec<&str> = got.iter().map(|r| r[16].as_str().unwrap()).collect();
        assert_eq!(tables[ScriptRows::BLOCK], tables[0]);
        assert_ne!(tables[ScriptRows::BLOCK + 1], tables[0]);
        // Every status is a choice of the filter, the empty one as "-".
        assert!(page.contains("<option value=\"持续\">持续</option>"));
        assert!(page.contains("<option value=\"-\">（无状态）</option>"));
        assert!(page.contains(&format!("<span id=\"count\">共 {} 条</span>", rows.len())));
    }
}
