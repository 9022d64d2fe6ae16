"""Generate training records from a bootcamp under the machine's native
python3, the way InternBootcamp's data pipeline loops a generator in one
process: the benchmarks (`cargo bench --bench bootforge`) compare
`bootforge generate` with this.

    python3 native_generate.py GUEST_DIR BOOTCAMP_FILE CASES FIRST_SEED OUT_FILE

Per seed: seed the global random, case_generator, prompt_func, drop a
repeated prompt, write one JSONL record. Prints {"cases", "written",
"duplicates", "elapsed_us"}; only the loop is timed.
"""
import hashlib
import json
import random
import sys
import time
import types


def main():
    guest_dir, path, cases, first_seed, out_file = sys.argv[1:6]
    sys.path.insert(0, guest_dir)
    import bootforge_base

    for name in ("bootcamp", "bootcamp.base", "internbootcamp", "internbootcamp.bootcamp",
                 "internbootcamp.bootcamp.base"):
        module = types.ModuleType(name)
        module.__path__ = []
        module.Basebootcamp = bootforge_base.Basebootcamp
        sys.modules[name] = module
    source = open(path, encoding="utf-8").read()
    module = types.ModuleType("bootforge_bootcamp")
    exec(compile(source, path, "exec"), module.__dict__)
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, bootforge_base.Basebootcamp)
               and v is not bootforge_base.Basebootcamp and v.__module__ == module.__name__]
    cls = classes[-1]
    instance = cls()
    source_name = cls.__name__.replace("bootcamp", "")
    seen = set()
    written = duplicates = 0
    started = time.perf_counter()
    with open(out_file, "w", encoding="utf-8") as out:
        for seed in range(int(first_seed), int(first_seed) + int(cases)):
            random.seed(seed)
            case = instance.case_generator()
            prompt = instance.prompt_func(json.loads(json.dumps(case, ensure_ascii=False)))
            key = hashlib.sha256(prompt.encode()).digest()[:16]
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            out.write(json.dumps({"data_source": source_name, "prompt": prompt.strip(),
                                  "ground_truth": case}, ensure_ascii=False) + "\n")
            written += 1
    elapsed = time.perf_counter() - started
    print(json.dumps({"cases": int(cases), "written": written, "duplicates": duplicates,
                      "elapsed_us": int(elapsed * 1e6)}))


if __name__ == "__main__":
    main()
