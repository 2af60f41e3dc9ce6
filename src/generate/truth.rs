//! The independent oracle: the rules of spec/rules.md evaluated directly on the
//! clean world, restricted to the records a correct pipeline can resolve.
//! Money is integer fen; a mean over months is held scaled by 27720
//! (= lcm(1..=12)) so that every comparison is exact integer arithmetic.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use super::world::{Fen, World, months_back, school_year};

/// lcm(1, …, 12): a mean over at most 12 months times this is an integer.
pub const SCALE: i128 = 27720;
/// The default minimum-living standard, 800 元, in fen.
pub const STANDARD: i128 = 80_000;

/// Which records are visible (resolved) per extract; `None` = all.
pub struct Visible {
    pub education: Vec<bool>,
    pub enrollment: Vec<bool>,
    pub settlement: Vec<bool>,
    pub property: Vec<bool>,
    pub housing: Vec<bool>,
    pub contribution: Vec<bool>,
    pub unemployment: Vec<bool>,
    pub pension: Vec<bool>,
}

fn vis(v: Option<&Vec<bool>>, i: usize) -> bool {
    v.is_none_or(|v| v[i])
}

/// Months back from the as-of month, when the period is in the 12-month window.
pub fn window_month(as_of: NaiveDate, period: u32) -> Option<u32> {
    let a = as_of.year() * 12 + as_of.month0() as i32;
    let p = (period / 100) as i32 * 12 + (period % 100) as i32 - 1;
    let back = a - p;
    (0..12).contains(&back).then_some(back as u32)
}

/// A date d is in the window when as_of − 12 months < d ≤ as_of.
pub fn in_window(as_of: NaiveDate, d: NaiveDate) -> bool {
    months_back(as_of, 12) < d && d <= as_of
}

/// Wage and pension income of every person, as scaled means.
pub struct Incomes {
    pub wage: BTreeMap<usize, i128>,
    pub pension: BTreeMap<usize, i128>,
    /// Persons with any contribution month in the window.
    pub contributing: BTreeSet<usize>,
    /// Persons with a 机关 / 事业单位 month in the window.
    pub public_sector: BTreeSet<usize>,
}

fn scaled_mean(months: &BTreeMap<u32, Fen>) -> i128 {
    let sum: i128 = months.values().map(|&v| v as i128).sum();
    sum * SCALE / months.len() as i128
}

impl Incomes {
    pub fn compute(world: &World, visible: Option<&Visible>) -> Incomes {
        let mut wage_months: BTreeMap<usize, BTreeMap<u32, Fen>> = BTreeMap::new();
        let mut public_sector = BTreeSet::new();
        for (i, c) in world.contribution.iter().enumerate() {
            if !vis(visible.map(|v| &v.contribution), i) {
                continue;
            }
            if let Some(back) = window_month(world.as_of, c.period) {
                *wage_months
                    .entry(c.person)
                    .or_default()
                    .entry(back)
                    .or_default() += c.wage_base;
                if matches!(world.employers[c.employer].kind, "机关" | "事业单位") {
                    public_sector.insert(c.person);
                }
            }
        }
        let mut pension_months: BTreeMap<usize, BTreeMap<u32, Fen>> = BTreeMap::new();
        for (i, p) in world.pension.iter().enumerate() {
            if !vis(visible.map(|v| &v.pension), i) {
                continue;
            }
            if let Some(back) = window_month(world.as_of, p.period) {
                *pension_months
                    .entry(p.person)
                    .or_default()
                    .entry(back)
                    .or_default() += p.amount;
            }
        }
        Incomes {
            contributing: wage_months.keys().copied().collect(),
            wage: wage_months
                .iter()
                .map(|(&p, m)| (p, scaled_mean(m)))
                .collect(),
            pension: pension_months
                .iter()
                .map(|(&p, m)| (p, scaled_mean(m)))
                .collect(),
            public_sector,
        }
    }

    pub fn wage_of(&self, p: usize) -> i128 {
        self.wage.get(&p).copied().unwrap_or(0)
    }

    pub fn income_of(&self, p: usize) -> i128 {
        self.wage_of(p) + self.pension.get(&p).copied().unwrap_or(0)
    }

    /// Household income (scaled); used by the generator to set declared income.
    pub fn household_income_scaled(&self, members: &[usize]) -> i128 {
        members.iter().map(|&p| self.income_of(p)).sum()
    }
}

/// Distinct members of every roster household, in roster order.
pub fn all_members(world: &World) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); world.households.len()];
    for r in &world.roster {
        let ms: &mut Vec<usize> = &mut out[r.household];
        if !ms.contains(&r.person) {
            ms.push(r.person);
        }
    }
    out
}

/// One expected finding. `file`/`row` only for DQ01 and DQ04.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TruthFinding {
    pub rule: String,
    pub household_id: String,
    pub id_number: String,
    pub file: String,
    pub row: String,
}

/// The member who made a household rule fire: the highest `score`, ties to the smallest ID.
fn pick_member(
    world: &World,
    candidates: &[usize],
    score: impl Fn(usize) -> i128,
) -> Option<usize> {
    candidates.iter().copied().max_by(|&a, &b| {
        score(a)
            .cmp(&score(b))
            .then_with(|| world.persons[b].id.cmp(&world.persons[a].id))
    })
}

fn smallest_id(world: &World, candidates: &[usize]) -> Option<usize> {
    candidates
        .iter()
        .copied()
        .min_by(|&a, &b| world.persons[a].id.cmp(&world.persons[b].id))
}

/// Evaluate CB01–CB05, LB01–LB04, DY01–DY04, DQ05 and DQ06 on the visible world.
pub fn rule_findings(world: &World, v: &Visible) -> BTreeSet<TruthFinding> {
    let as_of = world.as_of;
    let mut out = BTreeSet::new();
    let mut add = |rule: &str, hid: &str, p: usize| {
        out.insert(TruthFinding {
            rule: rule.to_string(),
            household_id: hid.to_string(),
            id_number: world.persons[p].id.clone(),
            file: String::new(),
            row: String::new(),
        });
    };
    let inc = Incomes::compute(world, Some(v));
    let mut households_of: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for r in &world.roster {
        households_of
            .entry(r.person)
            .or_default()
            .insert(r.household);
    }
    let in_roster = |p: usize| households_of.contains_key(&p);
    // Enrollment facts.
    let mut insured = BTreeSet::new();
    let mut dead = BTreeSet::new();
    let mut gone = BTreeSet::new();
    for (i, e) in world.enrollment.iter().enumerate() {
        if !v.enrollment[i] {
            continue;
        }
        if e.status == "正常参保" {
            insured.insert(e.person);
        }
        if let Some(d) = e.end_date
            && d <= as_of
        {
            if e.end_reason == "死亡" {
                dead.insert(e.person);
                gone.insert(e.person);
            } else if e.end_reason == "转出" {
                gone.insert(e.person);
            }
        }
    }
    // Latest house assessment per head.
    let mut latest_house: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, h) in world.housing.iter().enumerate() {
        if !v.housing[i] {
            continue;
        }
        let e = latest_house.entry(h.person).or_insert(i);
        if world.housing[*e].date <= h.date {
            *e = i;
        }
    }
    let current_year = school_year(as_of, 0);
    let standard_scaled = STANDARD * SCALE;
    // Per-person indexes of the visible records the household rules read.
    let mut property_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, pr) in world.property.iter().enumerate() {
        if v.property[i] {
            property_of.entry(pr.person).or_default().push(i);
        }
    }
    let mut inpatient_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, s) in world.settlement.iter().enumerate() {
        if v.settlement[i] && s.visit_type == "住院" && in_window(as_of, s.date) {
            inpatient_of.entry(s.person).or_default().push(i);
        }
    }
    let mut education_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, e) in world.education.iter().enumerate() {
        if v.education[i] && e.school_year == current_year {
            education_of.entry(e.person).or_default().push(i);
        }
    }
    let none: Vec<usize> = Vec::new();

    // Households: CB01–CB04, DQ05, DY01–DY04.
    let members_of = all_members(world);
    for (h, hh) in world.households.iter().enumerate() {
        let ms = &members_of[h];
        let hid = hh.hid.as_str();
        let income = inc.household_income_scaled(ms);
        let size = hh.size as i128;
        let (num, den) = if hh.category == "低收入" {
            (3, 2)
        } else {
            (1, 1)
        };
        if income * den > standard_scaled * size * num
            && let Some(p) = pick_member(world, ms, |p| inc.income_of(p))
        {
            add("CB01", hid, p);
        }
        // DQ05: every member with an income made it fire; the smallest ID.
        let earners: Vec<usize> = ms
            .iter()
            .copied()
            .filter(|&p| inc.income_of(p) > 0)
            .collect();
        if income * 10 > (hh.declared_income as i128) * SCALE * 13
            && let Some(p) = smallest_id(world, &earners)
        {
            add("DQ05", hid, p);
        }
        // CB02.
        let mut homes = BTreeSet::new();
        let mut commercial = false;
        let mut held: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for pr in ms
            .iter()
            .flat_map(|p| property_of.get(p).unwrap_or(&none))
            .map(|&i| &world.property[i])
        {
            if !pr.current {
                continue;
            }
            match pr.usage {
                "住宅" => {
                    homes.insert(pr.unit_id.as_str());
                }
                "商业" | "办公" | "工业" => commercial = true,
                _ => continue,
            }
            held.entry(pr.person)
                .or_default()
                .insert(pr.unit_id.as_str());
        }
        if (homes.len() >= 2 || commercial)
            && let Some(p) = pick_member(world, &held.keys().copied().collect::<Vec<_>>(), |p| {
                held[&p].len() as i128
            })
        {
            add("CB02", hid, p);
        }
        let public: Vec<usize> = ms
            .iter()
            .copied()
            .filter(|p| inc.public_sector.contains(p))
            .collect();
        if let Some(p) = smallest_id(world, &public) {
            add("CB03", hid, p);
        }
        let deceased: Vec<usize> = ms.iter().copied().filter(|p| dead.contains(p)).collect();
        if let Some(p) = smallest_id(world, &deceased) {
            add("CB04", hid, p);
        }
        for &p in ms {
            if !insured.contains(&p) && !dead.contains(&p) {
                add("DY01", hid, p);
            }
            if let Some(&i) = latest_house.get(&p) {
                let house = &world.housing[i];
                if matches!(house.grade, "C" | "D") && house.renovation == "未纳入" {
                    add("DY04", hid, p);
                }
            }
        }
        let floor: i128 = if hh.category == "低收入" { 50 } else { 70 };
        for s in ms
            .iter()
            .flat_map(|p| inpatient_of.get(p).unwrap_or(&none))
            .map(|&i| &world.settlement[i])
        {
            if s.date >= hh.start
                && s.eligible > 0
                && ((s.fund + s.critical + s.assistance) as i128) * 100 < floor * s.eligible as i128
            {
                add("DY02", hid, s.person);
            }
        }
        for e in ms
            .iter()
            .flat_map(|p| education_of.get(p).unwrap_or(&none))
            .map(|&i| &world.education[i])
        {
            if matches!(e.stage, "小学" | "初中" | "高中" | "中职") && e.aid_type == "无" {
                add("DY03", hid, e.person);
            }
        }
    }
    // CB05: a person in two households, or listed twice (not exactly) in one.
    for (&p, hs) in &households_of {
        if hs.len() > 1 {
            for &h in hs {
                add("CB05", &world.households[h].hid, p);
            }
        }
    }
    let mut rows_per: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for r in &world.roster {
        if !r.exact_dup {
            *rows_per.entry((r.household, r.person)).or_default() += 1;
        }
    }
    for (&(h, p), &n) in &rows_per {
        if n > 1 {
            add("CB05", &world.households[h].hid, p);
        }
    }
    // 漏保: persons in no roster household, alive and not moved away.
    let eligible_lb = |p: usize| !in_roster(p) && !gone.contains(&p);
    let mut oop: BTreeMap<usize, i128> = BTreeMap::new();
    for (i, s) in world.settlement.iter().enumerate() {
        if v.settlement[i] && in_window(as_of, s.date) {
            *oop.entry(s.person).or_default() += s.out_of_pocket as i128;
        }
    }
    for (&p, &total) in &oop {
        if eligible_lb(p) && total >= 2_000_000 && inc.wage_of(p) < standard_scaled {
            add("LB01", "", p);
        }
    }
    for (i, e) in world.education.iter().enumerate() {
        if !v.education[i] || e.school_year != current_year {
            continue;
        }
        if matches!(e.hardship, "孤儿" | "事实无人抚养") && eligible_lb(e.person) {
            add("LB02", "", e.person);
        }
        if matches!(e.hardship, "低保家庭" | "特困家庭")
            && !in_roster(e.person)
            && e.guardian.is_none_or(|g| !in_roster(g))
        {
            add("DQ06", "", e.person);
        }
    }
    for (&p, &i) in &latest_house {
        let house = &world.housing[i];
        if house.grade == "D"
            && house.renovation != "已改造"
            && eligible_lb(p)
            && inc.wage_of(p) < standard_scaled
        {
            add("LB03", "", p);
        }
    }
    let registered_before = months_back(as_of, 12);
    for (i, u) in world.unemployment.iter().enumerate() {
        if v.unemployment[i]
            && u.status == "失业"
            && u.reg_date <= registered_before
            && !inc.contributing.contains(&u.person)
            && eligible_lb(u.person)
        {
            add("LB04", "", u.person);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_exact() {
        let as_of = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        assert_eq!(window_month(as_of, 202511), Some(0));
        assert_eq!(window_month(as_of, 202412), Some(11));
        assert_eq!(window_month(as_of, 202411), None);
        assert_eq!(window_month(as_of, 202512), None);
        assert!(!in_window(
            as_of,
            NaiveDate::from_ymd_opt(2024, 11, 30).unwrap()
        ));
        assert!(in_window(
            as_of,
            NaiveDate::from_ymd_opt(2024, 12, 1).unwrap()
        ));
        assert!(in_window(as_of, as_of));
    }
}
