//! Reading the wire strictly: msgpack bytes become a [`Value`] tree, and the config is
//! deserialized from that tree by a deserializer that accepts exactly what the TypeScript
//! schema (zod) accepts, no more.
//!
//! serde's derives are lenient in ways zod is not: a struct may also be read from an array
//! (its fields by position), an `Option` field may be given as `nil`, and a byte string may
//! stand for a text. Through [`Strict`] a struct is only ever a map, `nil` is never a value
//! (leave the field out instead), a string is only a string and an integer only an integer.
//! The property test (`test/config-rules.test.ts`) checks that the two never disagree.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde::Deserialize;

/// A decoded msgpack value, before it is read as a config.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `nil` (JavaScript's `null`).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer, signed or not.
    Int(i128),
    /// A float (JavaScript numbers that are not integers, or too big to be sent as one).
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map, in wire order (duplicate keys kept).
    Map(Vec<(Value, Value)>),
    /// A msgpack extension (e.g. JavaScript's `undefined` or a `Date`): never part of a config.
    Extension,
}

impl Value {
    fn unexpected(&self) -> Unexpected<'_> {
        match self {
            Self::Nil => Unexpected::Other("null"),
            Self::Bool(b) => Unexpected::Bool(*b),
            Self::Int(i) => match u64::try_from(*i) {
                Ok(u) => Unexpected::Unsigned(u),
                Err(_) => i64::try_from(*i)
                    .map_or(Unexpected::Other("a 64-bit integer"), Unexpected::Signed),
            },
            Self::Float(f) => Unexpected::Float(*f),
            Self::Str(s) => Unexpected::Str(s),
            Self::Bytes(b) => Unexpected::Bytes(b),
            Self::Array(_) => Unexpected::Seq,
            Self::Map(_) => Unexpected::Map,
            Self::Extension => Unexpected::Other("a msgpack extension (undefined, a date, ...)"),
        }
    }
}

/// Why the wire could not be read as a config (serde's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

impl de::Error for WireError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a msgpack value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        // rmp hands extensions over as a newtype; read it whole so the stream stays in step.
        de::IgnoredAny::deserialize(d)?;
        Ok(Value::Extension)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Deserializes `T` from `value` strictly (see the module docs).
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, WireError> {
    T::deserialize(Strict(value))
}

/// The strict deserializer over a [`Value`].
#[derive(Debug)]
pub struct Strict(pub Value);

impl Strict {
    fn refuse<'de, T, V: Visitor<'de>>(&self, visitor: &V) -> Result<T, WireError> {
        Err(WireError::invalid_type(self.0.unexpected(), visitor))
    }
}

macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
            match self.0 {
                Value::Int(i) => match u64::try_from(i) {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => match i64::try_from(i) {
                        Ok(s) => visitor.visit_i64(s),
                        Err(_) => self.refuse(&visitor),
                    },
                },
                _ => self.refuse(&visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Strict {
    type Error = WireError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Nil => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(_) => self.deserialize_i128(visitor),
            Value::Float(f) => visitor.visit_f64(f),
            Value::Str(s) => visitor.visit_string(s),
            Value::Bytes(b) => visitor.visit_byte_buf(b),
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            Value::Map(entries) => visitor.visit_map(Entries(entries.into_iter(), None)),
            Value::Extension => self.refuse(&visitor),
        }
    }

    integers! {
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Float(f) => visitor.visit_f64(f),
            Value::Int(_) => self.deserialize_i128(visitor),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Str(s) => visitor.visit_string(s),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Bytes(b) => visitor.visit_byte_buf(b),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        self.deserialize_bytes(visitor)
    }

    /// Only a field that is there reaches here (an absent one takes its default), so `nil`
    /// is a value given as null, which the schema refuses: leave the field out instead.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Nil | Value::Extension => self.refuse(&visitor),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Nil => visitor.visit_unit(),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, WireError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, WireError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, WireError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, WireError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Map(entries) => visitor.visit_map(Entries(entries.into_iter(), None)),
            _ => self.refuse(&visitor),
        }
    }

    /// A struct is a map, never an array of its fields by position.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WireError> {
        self.deserialize_map(visitor)
    }

    /// An enum is its variant's name (a unit variant: `'drop'`) or a map of one entry, the
    /// name to its value (`{ forward: 'b' }`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WireError> {
        match self.0 {
            Value::Str(name) => visitor.visit_enum(Variant(Value::Str(name), None)),
            Value::Map(mut entries) if entries.len() == 1 => {
                let (name, value) = entries.remove(0);
                visitor.visit_enum(Variant(name, Some(value)))
            }
            _ => self.refuse(&visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        visitor.visit_unit()
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = WireError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, WireError> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries(std::vec::IntoIter<(Value, Value)>, Option<Value>);

impl<'de> MapAccess<'de> for Entries {
    type Error = WireError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, WireError> {
        let Some((key, value)) = self.0.next() else {
            return Ok(None);
        };
        self.1 = Some(value);
        seed.deserialize(Strict(key)).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, WireError> {
        let value = self
            .1
            .take()
            .ok_or_else(|| WireError::custom("a map value was read twice"))?;
        seed.deserialize(Strict(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// An enum's variant: its name, and its value when it was given as `{ name: value }`.
struct Variant(Value, Option<Value>);

impl<'de> EnumAccess<'de> for Variant {
    type Error = WireError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), WireError> {
        let name = seed.deserialize(Strict(self.0.clone()))?;
        Ok((name, self))
    }
}

impl<'de> VariantAccess<'de> for Variant {
    type Error = WireError;

    fn unit_variant(self) -> Result<(), WireError> {
        match self.1 {
            None => Ok(()),
            Some(v) => Err(WireError::invalid_type(
                v.unexpected(),
                &"a unit variant given by its name alone",
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, WireError> {
        match self.1 {
            Some(v) => seed.deserialize(Strict(v)),
            None => Err(WireError::invalid_type(
                Unexpected::UnitVariant,
                &"{ variant: value }",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, WireError> {
        match self.1 {
            Some(v) => Strict(v).deserialize_seq(visitor),
            None => Err(WireError::invalid_type(Unexpected::UnitVariant, &visitor)),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WireError> {
        match self.1 {
            Some(v) => Strict(v).deserialize_map(visitor),
            None => Err(WireError::invalid_type(Unexpected::UnitVariant, &visitor)),
        }
    }
}
