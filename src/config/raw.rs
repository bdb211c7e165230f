//! What the user typed: TOML deserialised with positions. Filled in by the config work.
