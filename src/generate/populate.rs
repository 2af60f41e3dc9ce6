//! The background county: families, the roster drawn from them, and every
//! department's ordinary records. Rules fire here only naturally (by chance);
//! `plant.rs` adds the deliberate cases.

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::names::NameBook;
use super::truth::Incomes;
use super::world::{Sizes, World, age_at, school_year, stage_for_age, yuan};

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut r = rng.random_range(0..total);
    for &(s, w) in items {
        if r < w {
            return s;
        }
        r -= w;
    }
    items[0].0
}

pub fn populate(world: &mut World, book: &NameBook, rng: &mut ChaCha8Rng, sizes: Sizes) {
    while world.persons.len() < sizes.population {
        world.new_family(book, rng, false);
    }
    let share = sizes.roster_persons as f64 / sizes.population as f64;
    let mut roster_persons = 0;
    let mut roster_families = Vec::new();
    for f in 0..world.families.len() {
        if roster_persons < sizes.roster_persons && rng.random_bool(share.min(1.0)) {
            let fam = &world.families[f];
            let head_age = age_at(world.persons[fam.members[0].0].birth, world.as_of);
            let category = if fam.members.len() == 1 && head_age >= 60 && rng.random_bool(0.6) {
                "特困"
            } else if rng.random_bool(0.75) {
                "低保"
            } else {
                "低收入"
            };
            roster_persons += fam.members.len();
            let h = world.add_household(rng, f, category, 0);
            roster_families.push((f, h));
        }
    }
    let mut in_roster = vec![false; world.persons.len()];
    for r in &world.roster {
        in_roster[r.person] = true;
    }
    let as_of = world.as_of;
    let families = world.families.clone();
    for fam in &families {
        let roster = in_roster[fam.members[0].0];
        family_records(world, rng, fam, roster);
    }
    // Declared income: what the household said, close to the truth; a few under-declare.
    let incomes = Incomes::compute(world, None);
    let members = super::truth::all_members(world);
    for &(_, h) in &roster_families {
        let income = (incomes.household_income_scaled(&members[h]) / super::truth::SCALE) as i64;
        let pct = if rng.random_bool(0.02) {
            50
        } else {
            rng.random_range(95..=110)
        };
        world.households[h].declared_income = income * pct / 100 / 100 * 100;
    }
    let _ = as_of;
}

fn family_records(
    world: &mut World,
    rng: &mut ChaCha8Rng,
    fam: &super::world::Family,
    roster: bool,
) {
    let as_of = world.as_of;
    let head = fam.members[0].0;
    let rural = world.villages[fam.township][fam.village].ends_with('村');
    for (i, &(p, relation)) in fam.members.iter().enumerate() {
        let birth = world.persons[p].birth;
        let age = age_at(birth, as_of);
        // Death or moving away, shown only by the medical enrollment.
        let fate = rng.random_range(0..1000);
        let death = (fate < 4).then(|| as_of - Duration::days(rng.random_range(1..360)));
        let moved = (4..7).contains(&fate);
        // Employment.
        let mut employed_kind = None;
        if (18..60).contains(&age) && rng.random_bool(if roster { 0.08 } else { 0.45 }) {
            let kind = if roster {
                pick(
                    rng,
                    &[
                        ("事业单位", 3),
                        ("企业", 30),
                        ("个体工商户", 20),
                        ("灵活就业", 47),
                    ],
                )
            } else {
                pick(
                    rng,
                    &[
                        ("机关", 8),
                        ("事业单位", 7),
                        ("企业", 60),
                        ("个体工商户", 10),
                        ("灵活就业", 15),
                    ],
                )
            };
            let base = match (roster, kind) {
                (true, _) => yuan(rng, 2000, 3500),
                (_, "机关") => yuan(rng, 6000, 12000),
                (_, "事业单位") => yuan(rng, 5000, 10000),
                (_, "企业") => yuan(rng, 3500, 15000),
                _ => yuan(rng, 3500, 6000),
            };
            let employer = world.employer_of(kind, rng);
            let (lo, hi) = if rng.random_bool(0.85) {
                (0, 12)
            } else {
                let a = rng.random_range(0..12);
                (a, rng.random_range(a..=12))
            };
            world.contribute_months(p, employer, lo..=hi, base / 100 * 100);
            employed_kind = Some(kind);
        }
        // Medical enrollment.
        let scheme = match employed_kind {
            Some("机关" | "事业单位" | "企业") => "职工医保",
            _ => "城乡居民医保",
        };
        if let Some(d) = death {
            world.enroll(p, scheme, "终止", Some(("死亡", d)), roster);
        } else if moved {
            world.enroll(
                p,
                scheme,
                "终止",
                Some(("转出", as_of - Duration::days(rng.random_range(1..700)))),
                roster,
            );
        } else if rng.random_bool(0.98) {
            let status = if rng.random_bool(0.995) {
                "正常参保"
            } else {
                "暂停"
            };
            world.enroll(p, scheme, status, None, roster);
        }
        // Settlements over the 13 months before the as-of date.
        let last_day = death.unwrap_or(as_of);
        let span = (last_day - (as_of - Duration::days(395))).num_days().max(1);
        let day = |rng: &mut ChaCha8Rng| last_day - Duration::days(rng.random_range(0..span));
        for _ in 0..rng.random_range(0..=6) {
            let total = yuan(rng, 30, 600);
            let eligible = total * rng.random_range(85..=95) / 100;
            let fund = eligible * rng.random_range(50..=60) / 100;
            let assistance = if roster { eligible / 10 } else { 0 };
            let d = day(rng);
            world.settle(rng, p, "门诊", d, total, eligible, fund, 0, assistance);
        }
        if age >= 60 && rng.random_bool(0.08) {
            for m in 0..12 {
                let d = as_of - Duration::days(m * 30 + rng.random_range(0..28));
                if d <= last_day {
                    let total = yuan(rng, 200, 900);
                    let eligible = total * 9 / 10;
                    let fund = eligible * 7 / 10;
                    world.settle(rng, p, "门诊慢特病", d, total, eligible, fund, 0, 0);
                }
            }
        }
        let stays = if rng.random_bool(0.07) {
            1 + usize::from(rng.random_bool(0.2))
        } else {
            0
        };
        for _ in 0..stays {
            let total = yuan(rng, 3000, 60000);
            let eligible = total * rng.random_range(85..=95) / 100;
            let fund = eligible * rng.random_range(55..=65) / 100;
            let critical = if eligible > 2_000_000 {
                (eligible - 2_000_000) / 2
            } else {
                0
            };
            let mut assistance = 0;
            if roster && rng.random_bool(0.95) {
                let target = rng.random_range(72..=90);
                assistance = (eligible * target / 100 - fund - critical).max(0);
            }
            let d = day(rng);
            world.settle(
                rng, p, "住院", d, total, eligible, fund, critical, assistance,
            );
        }
        // Unemployment registration.
        if employed_kind.is_none() && (18..55).contains(&age) && rng.random_bool(0.04) {
            let status = pick(rng, &[("失业", 55), ("已就业", 30), ("注销", 15)]);
            let reg_date = as_of - Duration::days(rng.random_range(10..1100));
            world.unemployment.push(super::world::Unemployment {
                person: p,
                reg_date,
                status,
            });
        }
        // Pension.
        if age >= 60 && death.is_none() && rng.random_bool(0.85) {
            let amount = if !roster && rng.random_bool(0.3) {
                yuan(rng, 2500, 5000)
            } else {
                yuan(rng, 150, 400)
            };
            world.pension_months(p, 0..=12, amount);
        }
        // Education: this school year and the last.
        let guardian = (relation == "子女")
            .then_some(head)
            .or((i > 0 && age < 18).then_some(head));
        for back in 0..2 {
            let sy = school_year(as_of, back);
            let start_year: i32 = sy[..4].parse().expect("year");
            let sept = NaiveDate::from_ymd_opt(start_year, 9, 1).expect("date");
            let Some(mut stage) = stage_for_age(age_at(birth, sept)) else {
                continue;
            };
            if stage == "高中" && (p % 5 == 0) {
                stage = "中职";
            }
            if stage == "高校" && p % 5 >= 2 {
                continue;
            }
            let compulsory = matches!(stage, "小学" | "初中");
            let household_hardship = if roster { "低保家庭" } else { "无" };
            let hardship = if roster {
                household_hardship
            } else {
                pick(
                    rng,
                    &[
                        ("无", 983),
                        ("残疾", 10),
                        ("孤儿", 2),
                        ("事实无人抚养", 3),
                        ("低保家庭", 2),
                    ],
                )
            };
            let aided = if roster && stage != "学前" {
                rng.random_bool(0.95)
            } else {
                rng.random_bool(if compulsory { 0.3 } else { 0.1 })
            };
            let aid_type = if aided {
                if compulsory {
                    pick(rng, &[("生活补助", 60), ("营养改善", 40)])
                } else if stage == "高校" {
                    "国家助学金"
                } else {
                    pick(rng, &[("免学费", 50), ("国家助学金", 50)])
                }
            } else {
                "无"
            };
            let aid_amount = if aided { yuan(rng, 10, 25) * 100 } else { 0 };
            let school = world.school_for(fam.township, stage);
            let id_empty = stage == "学前" && rng.random_bool(0.3);
            world.education.push(super::world::Education {
                person: p,
                school,
                stage,
                aid_type,
                aid_amount,
                hardship,
                guardian: guardian.filter(|&g| g != p),
                school_year: sy,
                id_empty,
            });
        }
    }
    // Property, held by the head (a home co-owned with the spouse).
    let spouse = fam.members.iter().find(|m| m.1 == "配偶").map(|m| m.0);
    let head_age = age_at(world.persons[head].birth, as_of);
    if head_age >= 22 && rng.random_bool(if roster { 0.3 } else { 0.55 }) {
        let owners: Vec<usize> = match spouse {
            Some(s) if rng.random_bool(0.3) => vec![head, s],
            _ => vec![head],
        };
        world.own(rng, &owners, "住宅", true, fam.township);
        if rng.random_bool(if roster { 0.01 } else { 0.08 }) {
            world.own(rng, &[head], "住宅", true, fam.township);
        }
        if rng.random_bool(0.05) {
            world.own(rng, &[head], "住宅", false, fam.township);
        }
        if rng.random_bool(0.05) {
            world.own(rng, &[head], "车位", true, fam.township);
        }
        if rng.random_bool(if roster { 0.002 } else { 0.02 }) {
            world.own(rng, &[head], "商业", true, fam.township);
        }
    }
    // Rural house safety assessments.
    if rural && rng.random_bool(0.3) {
        let grade = pick(rng, &[("A", 45), ("B", 35), ("C", 13), ("D", 7)]);
        let renovation = if matches!(grade, "C" | "D") {
            pick(rng, &[("未纳入", 20), ("已纳入计划", 30), ("已改造", 50)])
        } else {
            "未纳入"
        };
        let date = as_of - Duration::days(rng.random_range(1..1000));
        if rng.random_bool(0.1) {
            let earlier = date - Duration::days(rng.random_range(400..800));
            let g = ["B", "C", "D"][rng.random_range(0..3)];
            world.housing.push(super::world::HouseAssessment {
                person: head,
                township: fam.township,
                village: fam.village,
                grade: g,
                date: earlier,
                renovation: "未纳入",
            });
        }
        world.housing.push(super::world::HouseAssessment {
            person: head,
            township: fam.township,
            village: fam.village,
            grade,
            date,
            renovation,
        });
    }
    let _ = as_of.year();
}
