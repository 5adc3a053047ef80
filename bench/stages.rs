use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let loaded = accord::config::load(path.as_ref(), &Default::default()).unwrap();
    let t1 = t.elapsed();
    let config = accord::config::schema::check(&loaded).unwrap();
    let t2 = t.elapsed();
    let desired = accord::rules::compile(&config, &loaded.sources).unwrap();
    let t3 = t.elapsed();
    drop(desired);
    drop(config);
    drop(loaded);
    let t4 = t.elapsed();
    eprintln!("load {:?} schema {:?} rules {:?} drop {:?}", t1, t2 - t1, t3 - t2, t4 - t3);
}
