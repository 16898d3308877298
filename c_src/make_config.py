"""Write c_src/rtu_config.h, the learners' hyperparameters as C X-macro lists, from the config
dataclasses of rtu_edge/reference/config.py (the one place they are declared).

    python c_src/make_config.py [--out PATH]
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rtu_edge.reference.config import c_header  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "rtu_config.h"))
    args = parser.parse_args()
    pathlib.Path(args.out).write_text(c_header())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
