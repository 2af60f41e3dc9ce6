//! The clean world: persons with valid ID numbers, families, townships and
//! villages, the assistance roster, and each department's true records. No
//! mess here — `mess.rs` corrupts the records as they are written, and
//! `truth.rs` evaluates the rules on what a correct pipeline can see.

use std::collections::HashSet;

use chrono::{Datelike, Duration, Months, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::names::{NameBook, place_name};
use crate::normalize::id::check_char;

const REGION_CODES: &str = include_str!("../../data/gen_region_codes.csv");

pub type Fen = i64;

pub const EMPLOYER_TYPES: [&str; 5] = ["机关", "事业单位", "企业", "个体工商户", "灵活就业"];

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub birth: NaiveDate,
    pub male: bool,
    pub minority: bool,
    /// Planted persons get only recoverable mess, so that their cases stay visible.
    pub protected: bool,
}

#[derive(Debug, Clone)]
pub struct Family {
    pub members: Vec<(usize, &'static str)>,
    pub township: usize,
    pub village: usize,
}

#[derive(Debug, Clone)]
pub struct Household {
    pub hid: String,
    pub category: &'static str,
    pub township: usize,
    pub village: usize,
    pub head: usize,
    pub size: u32,
    pub benefit: Fen,
    pub start: NaiveDate,
    pub declared_income: Fen,
}

/// One roster row. `exact_dup` rows repeat the previous row byte for byte.
#[derive(Debug, Clone)]
pub struct RosterRow {
    pub household: usize,
    pub person: usize,
    pub relation: &'static str,
    pub disability: &'static str,
    pub exact_dup: bool,
}

#[derive(Debug, Clone)]
pub struct Education {
    pub person: usize,
    pub school: String,
    pub stage: &'static str,
    pub aid_type: &'static str,
    pub aid_amount: Fen,
    pub hardship: &'static str,
    pub guardian: Option<usize>,
    pub school_year: String,
    /// The school left the ID column empty (young children).
    pub id_empty: bool,
}

#[derive(Debug, Clone)]
pub struct Enrollment {
    pub person: usize,
    pub scheme: &'static str,
    pub status: &'static str,
    pub end_reason: &'static str,
    pub end_date: Option<NaiveDate>,
    pub subsidized: bool,
}

#[derive(Debug, Clone)]
pub struct Settlement {
    pub settlement_id: String,
    pub person: usize,
    pub visit_type: &'static str,
    pub date: NaiveDate,
    pub hospital: &'static str,
    pub diagnosis: &'static str,
    pub total: Fen,
    pub eligible: Fen,
    pub fund: Fen,
    pub critical: Fen,
    pub assistance: Fen,
    pub out_of_pocket: Fen,
}

#[derive(Debug, Clone)]
pub struct Property {
    pub person: usize,
    pub unit_id: String,
    pub address: String,
    pub usage: &'static str,
    /// Area in 1/100 ㎡.
    pub area: i64,
    pub reg_date: NaiveDate,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct HouseAssessment {
    pub person: usize,
    pub township: usize,
    pub village: usize,
    pub grade: &'static str,
    pub date: NaiveDate,
    pub renovation: &'static str,
}

#[derive(Debug, Clone)]
pub struct Contribution {
    pub person: usize,
    pub employer: usize,
    /// YYYYMM.
    pub period: u32,
    pub wage_base: Fen,
}

#[derive(Debug, Clone)]
pub struct Unemployment {
    pub person: usize,
    pub reg_date: NaiveDate,
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct Pension {
    pub person: usize,
    pub period: u32,
    pub amount: Fen,
}

#[derive(Debug, Clone)]
pub struct Employer {
    pub name: String,
    pub kind: &'static str,
}

/// Everything the county really is, before any department writes it down.
#[derive(Default)]
pub struct World {
    pub as_of: NaiveDate,
    pub county_code: String,
    pub townships: Vec<String>,
    pub villages: Vec<Vec<String>>,
    pub persons: Vec<Person>,
    pub families: Vec<Family>,
    pub households: Vec<Household>,
    pub roster: Vec<RosterRow>,
    pub employers: Vec<Employer>,
    pub education: Vec<Education>,
    pub enrollment: Vec<Enrollment>,
    pub settlement: Vec<Settlement>,
    pub property: Vec<Property>,
    pub housing: Vec<HouseAssessment>,
    pub contribution: Vec<Contribution>,
    pub unemployment: Vec<Unemployment>,
    pub pension: Vec<Pension>,
    ids: HashSet<String>,
    regions: Vec<String>,
    next_settlement: u64,
    next_unit: u64,
    /// When set, new Han persons take this surname (children of a family).
    surname_hint: Option<String>,
    district: District,
}

impl Default for District {
    fn default() -> Self {
        District { index: 0, count: 1 }
    }
}

/// Population and roster targets of a scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub population: usize,
    pub roster_persons: usize,
    pub townships: usize,
    pub planted_positive: usize,
    pub planted_near_miss: usize,
    /// A city is generated district by district (each the size above) and
    /// streamed to disk; 1 for a county.
    pub districts: usize,
}

/// Which district of how many a world is. Districts have disjoint region
/// codes and birth days in disjoint residue classes (days since CE mod the
/// district count), so no ID number is one edit from another district's and
/// no name + birth date recurs across districts: resolving within a district
/// is exact for the whole city.
#[derive(Debug, Clone, Copy)]
pub struct District {
    pub index: usize,
    pub count: usize,
}

pub fn months_back(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n)).expect("date in range")
}

/// YYYYMM of the month `back` months before `d`'s month.
pub fn period_back(d: NaiveDate, back: u32) -> u32 {
    let m = d.year() * 12 + d.month0() as i32 - back as i32;
    (m / 12) as u32 * 100 + (m % 12) as u32 + 1
}

/// The school year containing `d` (1 September to 31 August), `back` years earlier.
pub fn school_year(d: NaiveDate, back: i32) -> String {
    let start = if d.month() >= 9 {
        d.year()
    } else {
        d.year() - 1
    } - back;
    format!("{}-{}", start, start + 1)
}

pub fn age_at(birth: NaiveDate, d: NaiveDate) -> i32 {
    let mut a = d.year() - birth.year();
    if (d.month(), d.day()) < (birth.month(), birth.day()) {
        a -= 1;
    }
    a
}

/// Money between two 元 amounts, in fen.
pub fn yuan(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> Fen {
    rng.random_range(lo * 100..=hi * 100)
}

impl World {
    pub fn new(
        as_of: NaiveDate,
        sizes: Sizes,
        district: District,
        book: &NameBook,
        rng: &mut ChaCha8Rng,
    ) -> World {
        let all: Vec<String> = REGION_CODES
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next().map(str::to_string))
            .collect();
        let (k, d) = (district.count, district.index);
        let county_code = all[d].clone();
        let regions: Vec<String> = all[k..]
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k == d)
            .map(|(_, c)| c.clone())
            .collect();
        let townships: Vec<String> = (0..sizes.townships)
            .map(|i| place_name(book, rng, if i % 4 == 0 { "街道" } else { "镇" }))
            .collect();
        let villages = townships
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let n = rng.random_range(4..12);
                (0..n)
                    .map(|j| {
                        place_name(
                            book,
                            rng,
                            if i % 4 == 0 || j == 0 {
                                "社区"
                            } else {
                                "村"
                            },
                        )
                    })
                    .collect()
            })
            .collect();
        let mut employers = Vec::new();
        for (k, kind) in EMPLOYER_TYPES.iter().enumerate() {
            let n = [6, 12, 40, 20, 1][k];
            for i in 0..n {
                let name = match *kind {
                    "机关" => format!(
                        "来安县{}局",
                        ["财政", "教育", "公安", "税务", "农业农村", "自然资源"][i % 6]
                    ),
                    "事业单位" => format!("来安县第{}人民医院", i + 1)
                        .replace("医院", if i % 2 == 0 { "医院" } else { "中学" }),
                    "企业" => format!(
                        "{}{}有限公司",
                        place_name(book, rng, ""),
                        ["机械", "食品", "建材", "物流", "纺织"][i % 5]
                    ),
                    "个体工商户" => format!("{}便利店", place_name(book, rng, "")),
                    _ => "灵活就业人员".to_string(),
                };
                employers.push(Employer { name, kind });
            }
        }
        World {
            as_of,
            county_code,
            townships,
            villages,
            employers,
            regions,
            district,
            next_settlement: 1,
            next_unit: 1,
            ..World::default()
        }
    }

    pub fn employer_of(&self, kind: &str, rng: &mut ChaCha8Rng) -> usize {
        let idx: Vec<usize> = (0..self.employers.len())
            .filter(|&i| self.employers[i].kind == kind)
            .collect();
        idx[rng.random_range(0..idx.len())]
    }

    /// A new person with a valid, unique ID number; 88 % born in the county.
    pub fn new_person(
        &mut self,
        book: &NameBook,
        rng: &mut ChaCha8Rng,
        birth: NaiveDate,
        male: bool,
        protected: bool,
    ) -> usize {
        let region = if rng.random_bool(0.88) {
            self.county_code.clone()
        } else {
            self.regions[rng.random_range(0..self.regions.len())].clone()
        };
        let id = loop {
            let seq = rng.random_range(0..500) * 2 + u32::from(male);
            let body = format!("{}{}{:03}", region, birth.format("%Y%m%d"), seq);
            let check = check_char(body.as_bytes()).expect("17 digits") as char;
            let id = format!("{body}{check}");
            if self.ids.insert(id.clone()) {
                break id;
            }
        };
        let minority = rng.random_bool(0.03);
        let name = if minority {
            book.minority_name(rng)
        } else {
            book.han_name(rng)
        };
        let name = match (&self.surname_hint, minority) {
            (Some(s), false) => book.han_name_with(s, rng),
            _ => name,
        };
        self.persons.push(Person {
            id,
            name,
            birth,
            male,
            minority,
            protected,
        });
        self.persons.len() - 1
    }

    pub fn birth_for_age(&self, rng: &mut ChaCha8Rng, age: i32) -> NaiveDate {
        let d = months_back(self.as_of, (age as u32) * 12);
        let d = d - Duration::days(rng.random_range(1..365));
        let k = self.district.count as i32;
        let shift = (d.num_days_from_ce() - self.district.index as i32).rem_euclid(k);
        d - Duration::days(shift as i64)
    }

    /// A family: a head, usually a spouse, children and sometimes a parent.
    pub fn new_family(&mut self, book: &NameBook, rng: &mut ChaCha8Rng, protected: bool) -> usize {
        let township = rng.random_range(0..self.townships.len());
        let village = rng.random_range(0..self.villages[township].len());
        let head_age = rng.random_range(22..88);
        let male = rng.random_bool(0.7);
        let b = self.birth_for_age(rng, head_age);
        let head = self.new_person(book, rng, b, male, protected);
        let mut members = vec![(head, "本人")];
        if head_age < 80 && rng.random_bool(0.75) {
            let a = (head_age + rng.random_range(-5..=5)).max(20);
            let b = self.birth_for_age(rng, a);
            members.push((self.new_person(book, rng, b, !male, protected), "配偶"));
        }
        let head_name = self.persons[head].name.clone();
        self.surname_hint = (!self.persons[head].minority).then(|| book.surname_of(&head_name));
        if (24..62).contains(&head_age) {
            for _ in 0..rng.random_range(0..4) {
                let a = head_age - rng.random_range(22..36);
                if a >= 0 {
                    let b = self.birth_for_age(rng, a);
                    let m = rng.random_bool(0.5);
                    members.push((self.new_person(book, rng, b, m, protected), "子女"));
                }
            }
        }
        self.surname_hint = None;
        if head_age < 60 && rng.random_bool(0.12) {
            let a = head_age + rng.random_range(22..32);
            let b = self.birth_for_age(rng, a);
            let m = rng.random_bool(0.5);
            members.push((self.new_person(book, rng, b, m, protected), "父母"));
        }
        self.families.push(Family {
            members,
            township,
            village,
        });
        self.families.len() - 1
    }

    /// A family of the given ages (first = head), protected from unrecoverable mess.
    pub fn planted_family(&mut self, book: &NameBook, rng: &mut ChaCha8Rng, ages: &[i32]) -> usize {
        let township = rng.random_range(0..self.townships.len());
        let village = rng.random_range(0..self.villages[township].len());
        let mut head_surname: Option<String> = None;
        let mut members: Vec<(usize, &'static str)> = Vec::new();
        for (i, &a) in ages.iter().enumerate() {
            let b = self.birth_for_age(rng, a);
            let male = match members.first() {
                Some(&(head, _)) if i == 1 => !self.persons[head].male,
                _ => rng.random_bool(0.5),
            };
            let rel = match i {
                0 => "本人",
                1 if a >= 18 => "配偶",
                _ => "子女",
            };
            self.surname_hint = if rel == "子女" {
                head_surname.clone()
            } else {
                None
            };
            let p = self.new_person(book, rng, b, male, true);
            self.surname_hint = None;
            if i == 0 && !self.persons[p].minority {
                head_surname = Some(book.surname_of(&self.persons[p].name));
            }
            members.push((p, rel));
        }
        self.families.push(Family {
            members,
            township,
            village,
        });
        self.families.len() - 1
    }

    /// Put a family on the roster as one household.
    pub fn add_household(
        &mut self,
        rng: &mut ChaCha8Rng,
        family: usize,
        category: &'static str,
        declared_income: Fen,
    ) -> usize {
        let f = self.families[family].clone();
        let hidx = self.households.len();
        let hid = format!("{}{:03}{:06}", self.county_code, f.township + 1, hidx + 1);
        let size = f.members.len() as u32;
        let benefit = match category {
            "低保" => (size as i64) * yuan(rng, 300, 600),
            "特困" => (size as i64) * 104_000,
            _ => 0,
        };
        let start = self.as_of - Duration::days(rng.random_range(30..2200));
        self.households.push(Household {
            hid,
            category,
            township: f.township,
            village: f.village,
            head: f.members[0].0,
            size,
            benefit,
            start,
            declared_income,
        });
        for &(p, relation) in &f.members {
            let disability = if rng.random_bool(0.05) {
                ["一级", "二级", "三级", "四级"][rng.random_range(0..4)]
            } else {
                ""
            };
            self.roster.push(RosterRow {
                household: hidx,
                person: p,
                relation,
                disability,
                exact_dup: false,
            });
        }
        hidx
    }

    pub fn enroll(
        &mut self,
        person: usize,
        scheme: &'static str,
        status: &'static str,
        end: Option<(&'static str, NaiveDate)>,
        subsidized: bool,
    ) {
        self.enrollment.push(Enrollment {
            person,
            scheme,
            status,
            end_reason: end.map(|e| e.0).unwrap_or(""),
            end_date: end.map(|e| e.1),
            subsidized,
        });
    }

    /// A settlement; `paid_ratio_pct100` is (fund + critical + assistance) /
    /// eligible in 1/10000, applied exactly to the eligible cost.
    #[allow(clippy::too_many_arguments)]
    pub fn settle(
        &mut self,
        rng: &mut ChaCha8Rng,
        person: usize,
        visit_type: &'static str,
        date: NaiveDate,
        total: Fen,
        eligible: Fen,
        fund: Fen,
        critical: Fen,
        assistance: Fen,
    ) {
        const HOSPITALS: [&str; 5] = [
            "来安县人民医院",
            "来安县中医院",
            "滁州市第一人民医院",
            "乡镇卫生院",
            "安徽医科大学第一附属医院",
        ];
        const DIAGNOSES: [&str; 6] = [
            "J18.9 肺炎",
            "I10 原发性高血压",
            "E11.9 2型糖尿病",
            "K35.8 急性阑尾炎",
            "C34.9 支气管或肺恶性肿瘤",
            "N18.9 慢性肾脏病",
        ];
        let settlement_id = format!("JS{}{:010}", self.county_code, self.next_settlement);
        self.next_settlement += 1;
        self.settlement.push(Settlement {
            settlement_id,
            person,
            visit_type,
            date,
            hospital: HOSPITALS[rng.random_range(0..HOSPITALS.len())],
            diagnosis: DIAGNOSES[rng.random_range(0..DIAGNOSES.len())],
            total,
            eligible,
            fund,
            critical,
            assistance,
            out_of_pocket: (total - fund - critical - assistance).max(0),
        });
    }

    pub fn own(
        &mut self,
        rng: &mut ChaCha8Rng,
        persons: &[usize],
        usage: &'static str,
        current: bool,
        township: usize,
    ) {
        let unit_id = format!(
            "{}{:03}GB{:05}F{:08}",
            self.county_code,
            township + 1,
            self.next_unit % 100_000,
            self.next_unit
        );
        self.next_unit += 1;
        let road = ["人民路", "建设路", "永阳大道", "城东路", "兴安街"][rng.random_range(0..5)];
        let mut address = format!(
            "{}{}{}号",
            self.townships[township],
            road,
            rng.random_range(1..300)
        );
        // Commas and line breaks inside a field force CSV quoting.
        match rng.random_range(0..1000) {
            0..30 => address.push_str(",2幢"),
            30..33 => address.push_str("\n3单元"),
            _ => {}
        }
        let area = match usage {
            "车位" => rng.random_range(1200..2000),
            _ => rng.random_range(4500..16000),
        };
        let reg_date = self.as_of - Duration::days(rng.random_range(60..6000));
        for &p in persons {
            self.property.push(Property {
                person: p,
                unit_id: unit_id.clone(),
                address: address.clone(),
                usage,
                area,
                reg_date,
                current,
            });
        }
    }

    pub fn contribute_months(
        &mut self,
        person: usize,
        employer: usize,
        months_back: std::ops::RangeInclusive<u32>,
        base: Fen,
    ) {
        for b in months_back {
            let period = period_back(self.as_of, b);
            self.contribution.push(Contribution {
                person,
                employer,
                period,
                wage_base: base,
            });
        }
    }

    pub fn pension_months(
        &mut self,
        person: usize,
        months_back: std::ops::RangeInclusive<u32>,
        amount: Fen,
    ) {
        for b in months_back {
            let period = period_back(self.as_of, b);
            self.pension.push(Pension {
                person,
                period,
                amount,
            });
        }
    }

    pub fn school_for(&self, township: usize, stage: &str) -> String {
        let t = &self.townships[township];
        match stage {
            "学前" => format!("{t}中心幼儿园"),
            "小学" => format!("{t}中心小学"),
            "初中" => format!("{t}初级中学"),
            "高中" => "来安县第一中学".to_string(),
            "中职" => "来安县职业教育中心".to_string(),
            _ => "滁州学院".to_string(),
        }
    }
}

pub fn stage_for_age(age: i32) -> Option<&'static str> {
    match age {
        3..=5 => Some("学前"),
        6..=11 => Some("小学"),
        12..=14 => Some("初中"),
        15..=17 => Some("高中"),
        18..=21 => Some("高校"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_school_years() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 30).unwrap();
        assert_eq!(period_back(d, 0), 202511);
        assert_eq!(period_back(d, 11), 202412);
        assert_eq!(period_back(d, 12), 202411);
        assert_eq!(school_year(d, 0), "2025-2026");
        let d = NaiveDate::from_ymd_opt(2025, 8, 31).unwrap();
        assert_eq!(school_year(d, 0), "2024-2025");
        assert_eq!(
            period_back(NaiveDate::from_ymd_opt(2025, 1, 5).unwrap(), 1),
            202412
        );
    }
}
