fn main() {
    println!("hedui");
}
