// A new migration must always trigger a rebuild: `sqlx::migrate!` embeds the
// directory at compile time.
//
// The release binary keeps line tables (readable backtraces) but ships them
// compressed: about three quarters of an uncompressed release binary is line
// tables. zlib, not zstd: std's backtrace symbolizer reads zlib-compressed
// debug sections (file:line stays in a panic's backtrace), and does not read
// zstd ones. Only release builds pay the compression at link time; GNU ld
// and lld both take the flag.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    if linux && release {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    }
}
