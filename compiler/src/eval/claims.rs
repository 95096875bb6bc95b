//! claims: the values lib/facts.ncl's checks read (the main value's
//! `confirmed`), each with the host whose facts decide it, whether they back
//! it, and where Nickel says the value is written. Read from an evaluated
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

/// One value a facts check reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The host whose facts decide the value.
    pub host: String,
    /// Whether that host's facts agree with the value.
    pub backed: bool,
    /// Where the value is written in the main file, if it is written there.
    pub range: Option<Range<usize>>,
}

/// Every claim of the evaluated `program`, located through `places`.
pub(super) fn read(program: &mut Program<CacheImpl>, places: &Places) -> Result<Vec<Claim>, Error> {
    let main = program.eval()?;
    let Some(confirmed) = field(&main, CONFIRMED_FIELD) else {
        return Ok(Vec::new());
    };
    let confirmed = whnf(program, confirmed)?;
    let ValueContentRef::Array(Container::Alloc(array)) = confirmed.content_ref() else {
        return Ok(Vec::new());
    };
    let elements: Vec<NickelValue> = array.array.iter().cloned().collect();
    let mut claims = Vec::with_capacity(elements.len());
    for element in elements {
        let element = whnf(program, element)?;
        let text = |program: &mut Program<CacheImpl>, name| -> Result<_, Error> {
            let value = match field(&element, name) {
                Some(value) => Some(
                    program
                        .eval_deep_closure(closure(value))
                        .map_err(Error::EvalError)?,
                ),
                None => None,
            };
            Ok(value.and_then(|value| serde_json::to_value(&value).ok()))
        };
        let host = text(program, "host")?;
        let backed = text(program, "backed")?;
        let value = field(&element, "value")
            .map(|value| whnf(program, value))
            .transpose()?;
        let range = value.and_then(|value| {
            let span = program.pos_table().get(value.pos_idx()).into_opt()?;
            let place = places.place(span)?;
            (place.name == places.main_name).then_some(place.range)
        });
        claims.push(Claim {
            host: host
                .as_ref()
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            backed: backed.and_then(|b| b.as_bool()).unwrap_or(false),
            range,
        });
    }
    Ok(claims)
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
