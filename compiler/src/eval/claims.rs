//! claims: the values lib/facts.ncl's checks and comparisons read (the main
//! value's `confirmed`), each with the host whose facts decide it, whether
//! they back it, its kind (inventory or state), what the facts hold instead,
//! and where Nickel says the value is written. Read from an evaluated
//! program one value at a time, so that each value keeps its position.

use std::ops::Range;

use nickel_lang_core::error::Error;
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{Container, NickelValue, ValueContentRef};
use nickel_lang_core::eval::{Closure, Environment};
use nickel_lang_core::program::Program;

use super::Places;

/// The main value's field that lists the claims.
const CONFIRMED_FIELD: &str = "confirmed";

/// The main value's field that lists the proposals.
const PROPOSALS_FIELD: &str = "proposals";

/// Nickel for something a host has and the description lacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Proposal {
    /// The host whose facts show it.
    pub host: String,
    /// What it is and where it goes, in words.
    pub what: String,
    /// The description to paste there.
    pub nickel: String,
}

/// Every proposal of the evaluated `program`.
pub(super) fn proposals(program: &mut Program<CacheImpl>) -> Result<Vec<Proposal>, Error> {
    let mut proposals = Vec::new();
    for element in elements(program, PROPOSALS_FIELD)? {
        let mut text = |name| -> Result<String, Error> {
            let value = json_field(program, &element, name)?;
            let text = value
                .as_ref()
                .and_then(|value| value.as_str())
                .unwrap_or_default();
            Ok(crate::sanitise::line(text).into_owned())
        };
        proposals.push(Proposal {
            host: text("host")?,
            what: text("what")?,
            nickel: text("nickel")?,
        });
    }
    Ok(proposals)
}

/// One value a facts check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The host whose facts decide the value.
    pub host: String,
    /// Whether that host's facts agree with the value.
    pub backed: bool,
    /// Whether that host has facts at all.
    pub decided: bool,
    /// State a push changes (compared), rather than inventory (enforced).
    pub state: bool,
    /// Where the facts disagree, how, in words.
    pub message: Option<String>,
    /// What the facts hold instead, as Nickel text, where they tell.
    pub fact: Option<String>,
    /// Where the value is written in the main file, if it is written there.
    pub range: Option<Range<usize>>,
}

/// Every claim of the evaluated `program`, located through `places`.
pub(super) fn read(program: &mut Program<CacheImpl>, places: &Places) -> Result<Vec<Claim>, Error> {
    let mut claims = Vec::new();
    for element in elements(program, CONFIRMED_FIELD)? {
        let mut read = |name| json_field(program, &element, name);
        let string = |value: Option<serde_json::Value>| {
            value.and_then(|value| value.as_str().map(str::to_owned))
        };
        let flag = |value: Option<serde_json::Value>| value.and_then(|b| b.as_bool()) == Some(true);
        let host = string(read("host")?).unwrap_or_default();
        let backed = flag(read("backed")?);
        let decided = flag(read("decided")?);
        let state = string(read("kind")?).as_deref() == Some("state");
        // What the facts say is read only where they disagree.
        let (message, fact) = if decided && !backed {
            (string(read("message")?), string(read("fact")?))
        } else {
            (None, None)
        };
        let value = field(&element, "value")
            .map(|value| whnf(program, value))
            .transpose()?;
        let range = value.and_then(|value| {
            let span = program.pos_table().get(value.pos_idx()).into_opt()?;
            let place = places.place(span)?;
            (place.name == places.main_name).then_some(place.range)
        });
        claims.push(Claim {
            host,
            backed,
            decided,
            state,
            message: message.map(|m| crate::sanitise::line(&m).into_owned()),
            fact,
            range,
        });
    }
    Ok(claims)
}

/// The elements of the main value's array field `name`, each evaluated to
/// its head; none when there is no such field.
fn elements(program: &mut Program<CacheImpl>, name: &str) -> Result<Vec<NickelValue>, Error> {
    let main = program.eval()?;
    let Some(listed) = field(&main, name) else {
        return Ok(Vec::new());
    };
    let listed = whnf(program, listed)?;
    let ValueContentRef::Array(Container::Alloc(array)) = listed.content_ref() else {
        return Ok(Vec::new());
    };
    let elements: Vec<NickelValue> = array.array.iter().cloned().collect();
    elements
        .into_iter()
        .map(|element| whnf(program, element))
        .collect()
}

/// The field `name` of a record, fully evaluated, as JSON.
fn json_field(
    program: &mut Program<CacheImpl>,
    record: &NickelValue,
    name: &str,
) -> Result<Option<serde_json::Value>, Error> {
    let Some(value) = field(record, name) else {
        return Ok(None);
    };
    let value = program
        .eval_deep_closure(closure(value))
        .map_err(Error::EvalError)?;
    Ok(serde_json::to_value(&value).ok())
}

fn closure(value: NickelValue) -> Closure {
    Closure {
        value,
        env: Environment::new(),
    }
}

fn whnf(program: &mut Program<CacheImpl>, value: NickelValue) -> Result<NickelValue, Error> {
    program
        .eval_closure(closure(value))
        .map_err(Error::EvalError)
}

/// The value of the field `name` of a record, if it has one.
fn field(record: &NickelValue, name: &str) -> Option<NickelValue> {
    let ValueContentRef::Record(Container::Alloc(record)) = record.content_ref() else {
        return None;
    };
    record
        .fields
        .iter()
        .find(|(id, _)| id.label() == name)
        .and_then(|(_, field)| field.value_with_pending_contracts())
}
