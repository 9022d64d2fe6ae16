"""Run a bootcamp under the machine's native python3 the way the sandbox does.

    python3 native.py GUEST_DIR BOOTCAMP_FILE CASES FIRST_SEED ANSWER

GUEST_DIR is sandbox/guest (for the same Basebootcamp the sandbox uses). Per
case: seed the global random, case_generator, JSON round-trip, prompt_func,
verify_score of ANSWER. Prints one JSON object: {"cases": N, "elapsed_us": T,
"scores": [...]}; only the loop is timed, not interpreter start or loading.
The benchmarks (`cargo bench --bench bootforge`) compare this with the
same loop in the sandbox.
"""
import json
import random
import sys
import time
import types


def main():
    guest_dir, path, cases, first_seed, answer = sys.argv[1:6]
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
    instance = classes[-1]()
    scores = []
    started = time.perf_counter()
    for seed in range(int(first_seed), int(first_seed) + int(cases)):
        random.seed(seed)
        case = instance.case_generator()
        identity = json.loads(json.dumps(case, ensure_ascii=False, allow_nan=False))
        prompt = instance.prompt_func(identity)
        assert isinstance(prompt, str)
        scores.append(instance.verify_score(answer, json.loads(json.dumps(identity))))
    elapsed = time.perf_counter() - started
    print(json.dumps({"cases": int(cases), "elapsed_us": int(elapsed * 1e6), "scores": scores}))


if __name__ == "__main__":
    main()
