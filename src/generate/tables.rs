//! The nine extracts as tables of typed cells: headers exactly as
//! spec/extracts.md gives them, one row per world record. `write.rs` renders
//! the cells (with the mess) into files.

use chrono::NaiveDate;

use super::world::{Fen, World};

/// A typed value before rendering.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Str(&'static str),
    /// An ID number column: the person's.
    Id(usize),
    /// A name column: the person's.
    Name(usize),
    Date(Option<NaiveDate>),
    Money(Fen),
    /// A decimal with two places, in hundredths.
    Decimal(i64),
    Int(i64),
    /// YYYYMM.
    Period(u32),
    Empty,
}

/// The extract types, in the order they are generated and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Extract {
    Roster,
    Education,
    MedicalEnrollment,
    MedicalSettlement,
    Property,
    HousingSafety,
    Contribution,
    Unemployment,
    Pension,
}

pub const EXTRACTS: [Extract; 9] = [
    Extract::Roster,
    Extract::Education,
    Extract::MedicalEnrollment,
    Extract::MedicalSettlement,
    Extract::Property,
    Extract::HousingSafety,
    Extract::Contribution,
    Extract::Unemployment,
    Extract::Pension,
];

impl Extract {
    pub fn name(self) -> &'static str {
        match self {
            Extract::Roster => "roster",
            Extract::Education => "education",
            Extract::MedicalEnrollment => "medical_enrollment",
            Extract::MedicalSettlement => "medical_settlement",
            Extract::Property => "property",
            Extract::HousingSafety => "housing_safety",
            Extract::Contribution => "contribution",
            Extract::Unemployment => "unemployment",
            Extract::Pension => "pension",
        }
    }

    /// Title row text used above the header in XLSX files.
    pub fn title(self) -> &'static str {
        match self {
            Extract::Roster => "救助对象名册",
            Extract::Education => "学生资助与学籍信息",
            Extract::MedicalEnrollment => "医保参保登记信息",
            Extract::MedicalSettlement => "医保结算明细",
            Extract::Property => "不动产登记信息",
            Extract::HousingSafety => "农村住房安全鉴定与危房改造台账",
            Extract::Contribution => "社会保险缴费记录",
            Extract::Unemployment => "失业登记信息",
            Extract::Pension => "养老金发放明细",
        }
    }

    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Extract::Roster => &[
                "户编号",
                "救助类别",
                "乡镇（街道）",
                "村（社区）",
                "户主姓名",
                "户主身份证号",
                "成员姓名",
                "成员身份证号",
                "与户主关系",
                "保障人数",
                "月保障金（元）",
                "认定日期",
                "申报家庭月收入（元）",
                "残疾等级",
            ],
            Extract::Education => &[
                "学生姓名",
                "学生身份证号",
                "出生日期",
                "学校名称",
                "学段",
                "资助项目",
                "资助金额（元）",
                "困境类型",
                "监护人姓名",
                "监护人身份证号",
                "学年",
            ],
            Extract::MedicalEnrollment => &[
                "姓名",
                "身份证号",
                "险种",
                "参保状态",
                "终止原因",
                "终止日期",
                "资助参保",
            ],
            Extract::MedicalSettlement => &[
                "结算编号",
                "姓名",
                "身份证号",
                "就诊类型",
                "结算日期",
                "医疗机构",
                "主诊断",
                "总费用",
                "政策范围内费用",
                "统筹基金支付",
                "大病保险支付",
                "医疗救助支付",
                "个人自付",
            ],
            Extract::Property => &[
                "权利人姓名",
                "权利人证件号",
                "不动产单元号",
                "坐落",
                "规划用途",
                "建筑面积（㎡）",
                "登记日期",
                "权利状态",
            ],
            Extract::HousingSafety => &[
                "户主姓名",
                "户主身份证号",
                "乡镇",
                "村",
                "鉴定等级",
                "鉴定日期",
                "改造状态",
            ],
            Extract::Contribution => &[
                "姓名",
                "身份证号",
                "单位名称",
                "单位类型",
                "费款所属期",
                "缴费基数（元）",
            ],
            Extract::Unemployment => &["姓名", "身份证号", "登记日期", "状态"],
            Extract::Pension => &["姓名", "身份证号", "发放月份", "发放金额（元）"],
        }
    }

    /// (name column, primary ID column).
    pub fn person_cols(self) -> (usize, usize) {
        match self {
            Extract::Roster => (6, 7),
            Extract::MedicalSettlement => (1, 2),
            _ => (0, 1),
        }
    }

    /// A column that is not part of the record key and may be given a
    /// different value in an earlier conflicting row.
    pub fn conflict_col(self) -> Option<usize> {
        match self {
            Extract::Education => Some(3),
            Extract::MedicalSettlement => Some(5),
            Extract::Property => Some(3),
            Extract::HousingSafety => Some(3),
            Extract::Contribution => Some(5),
            Extract::Pension => Some(3),
            _ => None,
        }
    }

    pub fn len(self, w: &World) -> usize {
        match self {
            Extract::Roster => w.roster.len(),
            Extract::Education => w.education.len(),
            Extract::MedicalEnrollment => w.enrollment.len(),
            Extract::MedicalSettlement => w.settlement.len(),
            Extract::Property => w.property.len(),
            Extract::HousingSafety => w.housing.len(),
            Extract::Contribution => w.contribution.len(),
            Extract::Unemployment => w.unemployment.len(),
            Extract::Pension => w.pension.len(),
        }
    }

    pub fn person(self, w: &World, i: usize) -> usize {
        match self {
            Extract::Roster => w.roster[i].person,
            Extract::Education => w.education[i].person,
            Extract::MedicalEnrollment => w.enrollment[i].person,
            Extract::MedicalSettlement => w.settlement[i].person,
            Extract::Property => w.property[i].person,
            Extract::HousingSafety => w.housing[i].person,
            Extract::Contribution => w.contribution[i].person,
            Extract::Unemployment => w.unemployment[i].person,
            Extract::Pension => w.pension[i].person,
        }
    }

    pub fn cells(self, w: &World, i: usize) -> Vec<Cell> {
        use Cell::*;
        match self {
            Extract::Roster => {
                let r = &w.roster[i];
                let h = &w.households[r.household];
                vec![
                    Text(h.hid.clone()),
                    Str(h.category),
                    Text(w.townships[h.township].clone()),
                    Text(w.villages[h.township][h.village].clone()),
                    Name(h.head),
                    Id(h.head),
                    Name(r.person),
                    Id(r.person),
                    Str(r.relation),
                    Int(h.size as i64),
                    Money(h.benefit),
                    Date(Some(h.start)),
                    Money(h.declared_income),
                    Str(r.disability),
                ]
            }
            Extract::Education => {
                let e = &w.education[i];
                vec![
                    Name(e.person),
                    Id(e.person),
                    Date(Some(w.persons[e.person].birth)),
                    Text(e.school.clone()),
                    Str(e.stage),
                    Str(e.aid_type),
                    Money(e.aid_amount),
                    Str(e.hardship),
                    e.guardian.map(Name).unwrap_or(Empty),
                    e.guardian.map(Id).unwrap_or(Empty),
                    Text(e.school_year.clone()),
                ]
            }
            Extract::MedicalEnrollment => {
                let e = &w.enrollment[i];
                vec![
                    Name(e.person),
                    Id(e.person),
                    Str(e.scheme),
                    Str(e.status),
                    Str(e.end_reason),
                    Date(e.end_date),
                    Str(if e.subsidized { "是" } else { "否" }),
                ]
            }
            Extract::MedicalSettlement => {
                let s = &w.settlement[i];
                vec![
                    Text(s.settlement_id.clone()),
                    Name(s.person),
                    Id(s.person),
                    Str(s.visit_type),
                    Date(Some(s.date)),
                    Str(s.hospital),
                    Str(s.diagnosis),
                    Money(s.total),
                    Money(s.eligible),
                    Money(s.fund),
                    Money(s.critical),
                    Money(s.assistance),
                    Money(s.out_of_pocket),
                ]
            }
            Extract::Property => {
                let p = &w.property[i];
                vec![
                    Name(p.person),
                    Id(p.person),
                    Text(p.unit_id.clone()),
                    Text(p.address.clone()),
                    Str(p.usage),
                    Decimal(p.area),
                    Date(Some(p.reg_date)),
                    Str(if p.current { "现势" } else { "注销" }),
                ]
            }
            Extract::HousingSafety => {
                let h = &w.housing[i];
                vec![
                    Name(h.person),
                    Id(h.person),
                    Text(w.townships[h.township].clone()),
                    Text(w.villages[h.township][h.village].clone()),
                    Str(h.grade),
                    Date(Some(h.date)),
                    Str(h.renovation),
                ]
            }
            Extract::Contribution => {
                let c = &w.contribution[i];
                let e = &w.employers[c.employer];
                vec![
                    Name(c.person),
                    Id(c.person),
                    Text(e.name.clone()),
                    Str(e.kind),
                    Period(c.period),
                    Money(c.wage_base),
                ]
            }
            Extract::Unemployment => {
                let u = &w.unemployment[i];
                vec![
                    Name(u.person),
                    Id(u.person),
                    Date(Some(u.reg_date)),
                    Str(u.status),
                ]
            }
            Extract::Pension => {
                let p = &w.pension[i];
                vec![
                    Name(p.person),
                    Id(p.person),
                    Period(p.period),
                    Money(p.amount),
                ]
            }
        }
    }
}
