//! The JSON encoding of every server function's answer (and of its errors).
//!
//! It is server_fn's `Json` but for one thing: the browser decodes the answer from a `&str`
//! (`serde_json::from_str`), as a resource decodes the same type from the page's hydration data.
//! server_fn's own decoder reads bytes (`from_slice`), a second copy of every answer type's
//! `Deserialize` code in the WASM; with one reader the copies are shared (BENCHMARKS.md, "One
//! JSON reader").

use leptos::server_fn::codec::{JsonEncoding, Post};
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// server_fn's `JsonEncoding` (its content type, format and encoder), decoded from text.
pub struct JsonText;

/// The output encoding of Hearth's server functions: `#[server(…, output = Json)]`.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = JsonEncoding::CONTENT_TYPE;
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = JsonEncoding::FORMAT_TYPE;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = <JsonEncoding as Encodes<T>>::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        JsonEncoding::encode(value)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(<serde_json::Error as serde::de::Error>::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn answers_round_trip_and_bad_bytes_are_an_error_not_a_panic() {
        let error = AppError::validation("cron: bad field");
        let bytes = <JsonText as Encodes<AppError>>::encode(&error).unwrap();
        let back: AppError = <JsonText as Decodes<AppError>>::decode(bytes).unwrap();
        assert_eq!(back.to_string(), error.to_string());

        let invalid_utf8 = Bytes::from_static(b"\"\xff\"");
        assert!(<JsonText as Decodes<String>>::decode(invalid_utf8).is_err());
        assert!(<JsonText as Decodes<Vec<u32>>>::decode(Bytes::from_static(b"[1,")).is_err());
    }
}
