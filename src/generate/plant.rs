//! Planted cases: for every rule, households or persons built so that the rule
//! must fire (positives) and look-alikes that must not (near-misses: income
//! exactly at the standard, one home co-owned, a 事业单位 month just outside the
//! window, a death after the as-of date, a ratio of exactly the floor, …).
//! Planted persons are protected from unrecoverable mess.

use std::collections::BTreeMap;

use chrono::Duration;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::mess::Corruption;
use super::names::NameBook;
use super::tables::Extract;
use super::world::{
    Education, HouseAssessment, RosterRow, Unemployment, World, months_back, period_back,
    school_year,
};

/// One planted case and whether the rule must fire on it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plant {
    pub rule: &'static str,
    pub household_id: String,
    pub id_number: String,
    pub positive: bool,
    pub what: &'static str,
    /// For DQ01/DQ04 (keyed on the source row): the row, filled in when written.
    #[serde(skip)]
    pub record: Option<(Extract, usize)>,
    pub file: String,
    pub row: String,
}

pub struct Planter<'a> {
    pub world: &'a mut World,
    pub book: &'a NameBook,
    pub rng: &'a mut ChaCha8Rng,
    pub plants: Vec<Plant>,
    /// Corruptions forced onto particular rows (DQ02 cases).
    pub forced: BTreeMap<(Extract, usize), Corruption>,
}

impl Planter<'_> {
    /// A planted family; every member enrolled 城乡居民医保 unless `enroll` is false.
    fn family(&mut self, ages: &[i32], enroll: bool) -> Vec<usize> {
        let f = self.world.planted_family(self.book, self.rng, ages);
        let ms: Vec<usize> = self.world.families[f].members.iter().map(|m| m.0).collect();
        if enroll {
            for &p in &ms {
                self.world
                    .enroll(p, "城乡居民医保", "正常参保", None, false);
            }
        }
        ms
    }

    /// A planted roster household; returns (household index, members).
    fn household(
        &mut self,
        ages: &[i32],
        category: &'static str,
        declared: i64,
        enroll: bool,
    ) -> (usize, Vec<usize>) {
        let f = self.world.planted_family(self.book, self.rng, ages);
        let h = self.world.add_household(self.rng, f, category, declared);
        let ms: Vec<usize> = self.world.families[f].members.iter().map(|m| m.0).collect();
        if enroll {
            for &p in &ms {
                self.world.enroll(p, "城乡居民医保", "正常参保", None, true);
            }
        }
        (h, ms)
    }

    fn note(
        &mut self,
        rule: &'static str,
        h: Option<usize>,
        p: usize,
        positive: bool,
        what: &'static str,
    ) {
        self.plants.push(Plant {
            rule,
            household_id: h
                .map(|h| self.world.households[h].hid.clone())
                .unwrap_or_default(),
            id_number: self.world.persons[p].id.clone(),
            positive,
            what,
            record: None,
            file: String::new(),
            row: String::new(),
        });
    }

    /// A planted row-level DQ case: one settlement of `p` with a forced corruption.
    fn row_case(
        &mut self,
        rule: &'static str,
        p: usize,
        c: Corruption,
        positive: bool,
        what: &'static str,
    ) {
        let d = self.world.as_of - Duration::days(10);
        self.world
            .settle(self.rng, p, "门诊", d, 20_000, 18_000, 9_000, 0, 0);
        let record = (Extract::MedicalSettlement, self.world.settlement.len() - 1);
        self.forced.insert(record, c);
        self.plants.push(Plant {
            rule,
            household_id: String::new(),
            id_number: String::new(),
            positive,
            what,
            record: Some(record),
            file: String::new(),
            row: String::new(),
        });
    }

    fn wage(&mut self, p: usize, kind: &str, months: std::ops::RangeInclusive<u32>, base: i64) {
        let e = self.world.employer_of(kind, self.rng);
        self.world.contribute_months(p, e, months, base);
    }

    fn inpatient(
        &mut self,
        p: usize,
        date: chrono::NaiveDate,
        eligible: i64,
        paid: i64,
        out_of_pocket: i64,
    ) {
        let fund = paid * 7 / 10;
        let assistance = paid - fund;
        let total = paid + out_of_pocket;
        self.world.settle(
            self.rng, p, "住院", date, total, eligible, fund, 0, assistance,
        );
    }

    fn edu(
        &mut self,
        p: usize,
        stage: &'static str,
        aid: &'static str,
        hardship: &'static str,
        guardian: Option<usize>,
        back: i32,
    ) {
        let school = self.world.school_for(0, stage);
        self.world.education.push(Education {
            person: p,
            school,
            stage,
            aid_type: aid,
            aid_amount: if aid == "无" { 0 } else { 150_000 },
            hardship,
            guardian,
            school_year: school_year(self.world.as_of, back),
            id_empty: false,
        });
    }

    fn house(&mut self, p: usize, grade: &'static str, renovation: &'static str, days_ago: i64) {
        let date = self.world.as_of - Duration::days(days_ago);
        self.world.housing.push(HouseAssessment {
            person: p,
            township: 0,
            village: 0,
            grade,
            date,
            renovation,
        });
    }

    pub fn plant_all(&mut self, positives: usize, near_misses: usize) {
        let as_of = self.world.as_of;
        let year_ago = months_back(as_of, 12);
        for i in 0..positives.max(near_misses) {
            let pos = i < positives;
            let near = i < near_misses;
            // CB01 income over the standard (factor 1.5 for 低收入).
            let cat = if i % 3 == 2 { "低收入" } else { "低保" };
            let threshold = if cat == "低收入" {
                2 * 120_000
            } else {
                2 * 80_000
            };
            if pos {
                let income = threshold + 1 + self.rng.random_range(0..50_000);
                let (h, ms) =
                    self.household(&[if i % 4 == 3 { 66 } else { 45 }, 43], cat, income, true);
                if i % 4 == 3 {
                    self.world.pension_months(ms[0], 0..=12, income);
                } else {
                    self.wage(ms[0], "企业", 0..=11, income);
                }
                self.note(
                    "CB01",
                    Some(h),
                    ms[0],
                    true,
                    "per-capita income above the standard",
                );
            }
            if near {
                let (h, ms) = self.household(&[45, 43], cat, threshold, true);
                self.wage(ms[0], "企业", 0..=11, threshold);
                if i % 2 == 1 {
                    // A high month just outside the window does not count.
                    self.wage(ms[0], "个体工商户", 12..=12, 900_000);
                }
                self.note(
                    "CB01",
                    Some(h),
                    ms[0],
                    false,
                    "per-capita income exactly the standard",
                );
            }
            // CB02 property.
            if pos {
                let (h, ms) = self.household(&[50, 48], "低保", 0, true);
                let t = self.world.households[h].township;
                if i % 2 == 0 {
                    self.world.own(self.rng, &[ms[0]], "住宅", true, t);
                    self.world.own(self.rng, &[ms[0]], "住宅", true, t);
                    self.note("CB02", Some(h), ms[0], true, "two current homes");
                } else {
                    self.world.own(self.rng, &[ms[1]], "商业", true, t);
                    self.note("CB02", Some(h), ms[1], true, "a current shop");
                }
            }
            if near {
                let (h, ms) = self.household(&[50, 48], "低保", 0, true);
                let t = self.world.households[h].township;
                self.world.own(self.rng, &[ms[0], ms[1]], "住宅", true, t);
                self.world.own(self.rng, &[ms[0]], "住宅", false, t);
                self.world.own(self.rng, &[ms[0]], "车位", true, t);
                self.note(
                    "CB02",
                    Some(h),
                    ms[0],
                    false,
                    "one co-owned home, a cancelled one and a parking space",
                );
            }
            // CB03 public-sector contributions.
            if pos {
                let (h, ms) = self.household(&[40, 38], "低保", 100_000, true);
                let kind = if i % 2 == 0 { "事业单位" } else { "机关" };
                let last = self.rng.random_range(0..=11);
                self.wage(ms[1], kind, last..=last, 100_000);
                self.note(
                    "CB03",
                    Some(h),
                    ms[1],
                    true,
                    "a public-sector month in the window",
                );
            }
            if near {
                let (h, ms) = self.household(&[40, 38], "低保", 100_000, true);
                self.wage(ms[1], "事业单位", 12..=12, 100_000);
                self.note(
                    "CB03",
                    Some(h),
                    ms[1],
                    false,
                    "a 事业单位 month just outside the window",
                );
            }
            // CB04 death not stopped.
            if pos {
                let (h, ms) = self.household(&[72, 70], "低保", 0, false);
                self.world
                    .enroll(ms[0], "城乡居民医保", "正常参保", None, true);
                let d = as_of
                    - Duration::days(if i == 0 {
                        0
                    } else {
                        self.rng.random_range(1..300)
                    });
                self.world
                    .enroll(ms[1], "城乡居民医保", "终止", Some(("死亡", d)), true);
                self.note("CB04", Some(h), ms[1], true, "enrollment ended by death");
            }
            if near {
                let (h, ms) = self.household(&[72, 70], "低保", 0, true);
                let d = as_of + Duration::days(self.rng.random_range(1..30));
                self.world
                    .enroll(ms[1], "职工医保", "终止", Some(("死亡", d)), true);
                self.note(
                    "CB04",
                    Some(h),
                    ms[1],
                    false,
                    "death recorded after the as-of date",
                );
            }
            // CB05 duplicated person.
            if pos {
                let (h1, ms) = self.household(&[60, 58], "低保", 0, true);
                if i % 2 == 0 {
                    let (h2, _) = self.household(&[35], "低收入", 0, true);
                    self.world.roster.push(RosterRow {
                        household: h2,
                        person: ms[1],
                        relation: "其他",
                        disability: "",
                        exact_dup: false,
                    });
                    self.world.households[h2].size += 1;
                    self.note("CB05", Some(h1), ms[1], true, "member of two households");
                    self.note("CB05", Some(h2), ms[1], true, "member of two households");
                } else {
                    self.world.roster.push(RosterRow {
                        household: h1,
                        person: ms[1],
                        relation: "其他",
                        disability: "",
                        exact_dup: false,
                    });
                    self.note(
                        "CB05",
                        Some(h1),
                        ms[1],
                        true,
                        "listed twice with different rows",
                    );
                }
            }
            if near {
                let (h, ms) = self.household(&[60, 58], "低保", 0, true);
                let last = self.world.roster.last().expect("row").clone();
                self.world.roster.push(RosterRow {
                    exact_dup: true,
                    ..last
                });
                self.note("CB05", Some(h), ms[1], false, "an exact duplicate row");
            }
            // LB01 illness-driven poverty.
            if pos {
                let ms = self.family(&[50], true);
                let oop = if i % 3 == 0 {
                    2_000_000
                } else {
                    2_000_001 + self.rng.random_range(0..500_000)
                };
                let d = as_of - Duration::days(self.rng.random_range(0..300));
                if i % 3 == 2 {
                    self.inpatient(ms[0], d, 1_000_000, 600_000, oop / 2);
                    self.inpatient(
                        ms[0],
                        as_of - Duration::days(5),
                        1_000_000,
                        600_000,
                        oop - oop / 2,
                    );
                } else {
                    self.inpatient(ms[0], d, 3_000_000, 1_000_000, oop);
                }
                if i % 4 == 3 {
                    self.wage(ms[0], "灵活就业", 0..=11, 79_999);
                }
                self.note(
                    "LB01",
                    None,
                    ms[0],
                    true,
                    "out-of-pocket at least 20000 元, wage below the standard",
                );
            }
            if near {
                let ms = self.family(&[50], true);
                match i % 3 {
                    0 => self.inpatient(
                        ms[0],
                        as_of - Duration::days(30),
                        3_000_000,
                        1_000_000,
                        1_999_999,
                    ),
                    1 => {
                        self.inpatient(
                            ms[0],
                            as_of - Duration::days(30),
                            3_000_000,
                            1_000_000,
                            2_500_000,
                        );
                        self.wage(ms[0], "企业", 0..=11, 80_000);
                    }
                    _ => {
                        self.inpatient(ms[0], year_ago, 3_000_000, 1_000_000, 2_500_000);
                        self.inpatient(ms[0], as_of - Duration::days(3), 300_000, 100_000, 1_000);
                    }
                }
                self.note(
                    "LB01",
                    None,
                    ms[0],
                    false,
                    "out-of-pocket just under, wage at the standard, or outside the window",
                );
            }
            // LB02 children in hardship; DQ06 school says 低保 but nobody is on the roster.
            if pos {
                let ms = self.family(&[38, 10], true);
                let hardship = if i % 2 == 0 {
                    "孤儿"
                } else {
                    "事实无人抚养"
                };
                self.edu(ms[1], "小学", "生活补助", hardship, Some(ms[0]), 0);
                self.note("LB02", None, ms[1], true, "orphan not covered");
                let ms = self.family(&[40, 12], true);
                self.edu(
                    ms[1],
                    "初中",
                    "生活补助",
                    if i % 2 == 0 {
                        "低保家庭"
                    } else {
                        "特困家庭"
                    },
                    Some(ms[0]),
                    0,
                );
                self.note(
                    "DQ06",
                    None,
                    ms[1],
                    true,
                    "school says 低保家庭, nobody on the roster",
                );
            }
            if near {
                let ms = self.family(&[38, 10], false);
                self.world
                    .enroll(ms[0], "城乡居民医保", "正常参保", None, false);
                match i % 3 {
                    0 => {
                        self.edu(ms[1], "小学", "生活补助", "孤儿", Some(ms[0]), 1);
                        self.edu(ms[1], "小学", "生活补助", "无", Some(ms[0]), 0);
                        self.world
                            .enroll(ms[1], "城乡居民医保", "正常参保", None, false);
                    }
                    1 => {
                        self.edu(ms[1], "小学", "生活补助", "残疾", Some(ms[0]), 0);
                        self.world
                            .enroll(ms[1], "城乡居民医保", "正常参保", None, false);
                    }
                    _ => {
                        self.edu(ms[1], "小学", "生活补助", "孤儿", Some(ms[0]), 0);
                        let d = as_of - Duration::days(20);
                        self.world
                            .enroll(ms[1], "城乡居民医保", "终止", Some(("转出", d)), false);
                    }
                }
                self.note(
                    "LB02",
                    None,
                    ms[1],
                    false,
                    "last year's orphan, a disability, or moved away",
                );
                let (_, g) = self.household(&[40], "低保", 0, true);
                let child = self.family(&[12], true);
                self.edu(child[0], "初中", "生活补助", "低保家庭", Some(g[0]), 0);
                self.note(
                    "DQ06",
                    None,
                    child[0],
                    false,
                    "the guardian is on the roster",
                );
            }
            // LB03 unsafe house, not covered.
            if pos {
                let ms = self.family(&[60], true);
                let renovation = if i % 2 == 0 {
                    "未纳入"
                } else {
                    "已纳入计划"
                };
                self.house(ms[0], "D", renovation, 100);
                self.note("LB03", None, ms[0], true, "house graded D, not renovated");
            }
            if near {
                let ms = self.family(&[60], true);
                match i % 4 {
                    0 => self.house(ms[0], "C", "未纳入", 100),
                    1 => self.house(ms[0], "D", "已改造", 100),
                    2 => {
                        self.house(ms[0], "D", "未纳入", 800);
                        self.house(ms[0], "B", "未纳入", 100);
                    }
                    _ => {
                        self.house(ms[0], "D", "未纳入", 100);
                        self.wage(ms[0], "灵活就业", 0..=11, 80_000);
                    }
                }
                self.note(
                    "LB03",
                    None,
                    ms[0],
                    false,
                    "grade C, renovated, re-graded B, or wage at the standard",
                );
            }
            // LB04 long-term unemployment.
            if pos {
                let ms = self.family(&[40], true);
                let reg_date = year_ago
                    - Duration::days(if i == 0 {
                        0
                    } else {
                        self.rng.random_range(1..700)
                    });
                self.world.unemployment.push(Unemployment {
                    person: ms[0],
                    reg_date,
                    status: "失业",
                });
                self.note(
                    "LB04",
                    None,
                    ms[0],
                    true,
                    "unemployed for 12 months or more",
                );
            }
            if near {
                let ms = self.family(&[40], true);
                match i % 3 {
                    0 => self.world.unemployment.push(Unemployment {
                        person: ms[0],
                        reg_date: year_ago + Duration::days(1),
                        status: "失业",
                    }),
                    1 => {
                        self.world.unemployment.push(Unemployment {
                            person: ms[0],
                            reg_date: year_ago - Duration::days(200),
                            status: "失业",
                        });
                        self.wage(ms[0], "灵活就业", 0..=0, 350_000);
                    }
                    _ => self.world.unemployment.push(Unemployment {
                        person: ms[0],
                        reg_date: year_ago - Duration::days(200),
                        status: "已就业",
                    }),
                }
                self.note(
                    "LB04",
                    None,
                    ms[0],
                    false,
                    "registered 11 months ago, contributing, or employed",
                );
            }
            // DY01 not insured.
            if pos {
                let (h, ms) = self.household(&[45, 43], "低保", 0, false);
                self.world
                    .enroll(ms[0], "城乡居民医保", "正常参保", None, true);
                match i % 3 {
                    0 => {}
                    1 => self.world.enroll(ms[1], "城乡居民医保", "暂停", None, true),
                    _ => self.world.enroll(
                        ms[1],
                        "城乡居民医保",
                        "终止",
                        Some(("转出", as_of - Duration::days(40))),
                        true,
                    ),
                }
                self.note("DY01", Some(h), ms[1], true, "no enrollment in force");
            }
            if near {
                let (h, ms) = self.household(&[45, 43], "低保", 0, true);
                self.world.enroll(
                    ms[1],
                    "职工医保",
                    "终止",
                    Some(("转出", as_of - Duration::days(40))),
                    true,
                );
                self.note(
                    "DY01",
                    Some(h),
                    ms[1],
                    false,
                    "one scheme ended, another in force",
                );
            }
            // DY02 assistance ratio below the floor.
            let (cat, floor) = if i % 3 == 2 {
                ("低收入", 50)
            } else {
                ("低保", 70)
            };
            if pos {
                let (h, ms) = self.household(&[55], cat, 0, true);
                self.world.households[h].start = as_of - Duration::days(400);
                let d = as_of - Duration::days(self.rng.random_range(0..300));
                self.inpatient(ms[0], d, 1_000_000, floor * 10_000 - 1, 200_000);
                self.note(
                    "DY02",
                    Some(h),
                    ms[0],
                    true,
                    "inpatient ratio just below the floor",
                );
            }
            if near {
                let (h, ms) = self.household(&[55], cat, 0, true);
                self.world.households[h].start = as_of - Duration::days(100);
                match i % 4 {
                    0 => self.inpatient(
                        ms[0],
                        as_of - Duration::days(20),
                        1_000_000,
                        floor * 10_000,
                        200_000,
                    ),
                    1 => self.inpatient(
                        ms[0],
                        as_of - Duration::days(150),
                        1_000_000,
                        floor * 10_000 - 1,
                        200_000,
                    ),
                    2 => {
                        let d = as_of - Duration::days(20);
                        self.world
                            .settle(self.rng, ms[0], "门诊", d, 10_000, 10_000, 1_000, 0, 0);
                    }
                    _ => {
                        let d = as_of - Duration::days(20);
                        self.world
                            .settle(self.rng, ms[0], "住院", d, 50_000, 0, 0, 0, 0);
                    }
                }
                self.note(
                    "DY02",
                    Some(h),
                    ms[0],
                    false,
                    "ratio exactly the floor, before 认定日期, outpatient, or no eligible cost",
                );
            }
            // DY03 student without aid.
            if pos {
                let age = [8, 13, 16, 17][i % 4];
                let stage = ["小学", "初中", "高中", "中职"][i % 4];
                let (h, ms) = self.household(&[40, age], "低保", 0, true);
                self.edu(ms[1], stage, "无", "低保家庭", Some(ms[0]), 0);
                self.note(
                    "DY03",
                    Some(h),
                    ms[1],
                    true,
                    "compulsory/secondary student without aid",
                );
            }
            if near {
                let (h, ms) =
                    self.household(&[40, if i % 2 == 0 { 4 } else { 9 }], "低保", 0, true);
                if i % 2 == 0 {
                    self.edu(ms[1], "学前", "无", "低保家庭", Some(ms[0]), 0);
                } else {
                    self.edu(ms[1], "小学", "无", "低保家庭", Some(ms[0]), 1);
                    self.edu(ms[1], "小学", "生活补助", "低保家庭", Some(ms[0]), 0);
                }
                self.note(
                    "DY03",
                    Some(h),
                    ms[1],
                    false,
                    "pre-school, or unaided only last year",
                );
            }
            // DY04 unsafe house not renovated.
            if pos {
                let (h, ms) = self.household(&[62], "特困", 0, true);
                self.house(ms[0], if i % 2 == 0 { "C" } else { "D" }, "未纳入", 60);
                self.note(
                    "DY04",
                    Some(h),
                    ms[0],
                    true,
                    "house C/D not in the renovation plan",
                );
            }
            if near {
                let (h, ms) = self.household(&[62], "特困", 0, true);
                match i % 3 {
                    0 => self.house(ms[0], "D", "已纳入计划", 60),
                    1 => self.house(ms[0], "B", "未纳入", 60),
                    _ => {
                        self.house(ms[0], "C", "未纳入", 700);
                        self.house(ms[0], "C", "已改造", 60);
                    }
                }
                self.note(
                    "DY04",
                    Some(h),
                    ms[0],
                    false,
                    "in the plan, grade B, or since renovated",
                );
            }
            // DQ02 one ID, two different names.
            if pos {
                let ms = self.family(&[33], true);
                let row = self.world.enrollment.len() - 1;
                self.forced
                    .insert((Extract::MedicalEnrollment, row), Corruption::OtherName);
                // The owner's own name must be seen on the number elsewhere,
                // or no pipeline could tell the other name from the owner's.
                let employer = self.world.employer_of("企业", self.rng);
                self.world
                    .contribute_months(ms[0], employer, 1..=3, 500_000);
                self.note(
                    "DQ02",
                    None,
                    ms[0],
                    true,
                    "a different name on the ID number",
                );
            }
            if near {
                let ms = self.family(&[33], true);
                let row = self.world.enrollment.len() - 1;
                let name = self.world.persons[ms[0]].name.clone();
                let c = if self.book.traditional(&name).is_some() {
                    Corruption::Traditional
                } else {
                    Corruption::NameSpaces
                };
                self.forced.insert((Extract::MedicalEnrollment, row), c);
                self.note("DQ02", None, ms[0], false, "a variant of the same name");
            }
            // DQ05 income above the declared income by more than 30 %.
            if pos {
                let (h, ms) = self.household(&[45, 43], "低保", 100_000, true);
                self.wage(ms[0], "灵活就业", 0..=11, 130_001);
                self.note(
                    "DQ05",
                    Some(h),
                    ms[0],
                    true,
                    "income 30 % above declared, plus one fen",
                );
            }
            if near {
                let (h, ms) = self.household(&[45, 43], "低保", 100_000, true);
                self.wage(ms[0], "灵活就业", 0..=11, 130_000);
                self.note(
                    "DQ05",
                    Some(h),
                    ms[0],
                    false,
                    "income exactly 30 % above declared",
                );
            }
        }
        // Row-level ID checks: DQ01 (invalid, not repairable), DQ03 (repaired), DQ04 (Excel).
        for i in 0..positives.max(near_misses) {
            let (pos, near) = (i < positives, i < near_misses);
            if pos {
                // Known nowhere else: a check-character error that cannot be repaired.
                let ms = self.family(&[30], false);
                self.row_case(
                    "DQ01",
                    ms[0],
                    Corruption::TypoDigit,
                    true,
                    "typo in an ID known nowhere else",
                );
                self.note(
                    "DQ03",
                    None,
                    ms[0],
                    false,
                    "not repairable, so not repaired",
                );
                // Known from the enrollment: repaired.
                let ms = self.family(&[31], true);
                let c = if i % 2 == 0 {
                    Corruption::TypoDigit
                } else {
                    Corruption::Swap
                };
                self.row_case(
                    "DQ01",
                    ms[0],
                    c,
                    false,
                    "a check-character error that is repaired",
                );
                self.note("DQ03", None, ms[0], true, "repaired from a known person");
                let ms = self.family(&[32], true);
                self.row_case(
                    "DQ04",
                    ms[0],
                    Corruption::Sci,
                    true,
                    "Excel scientific notation",
                );
            }
            if near {
                let ms = self.family(&[50], true);
                self.row_case(
                    "DQ04",
                    ms[0],
                    Corruption::Legacy15,
                    false,
                    "a 15-digit legacy number, upgradeable",
                );
            }
        }
        let _ = period_back;
    }
}
