// A new migration must always trigger a rebuild: `sqlx::migrate!` embeds the
// directory at compile time.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
