"""Running this package's modules in Debian's interpreter, the one that has
python3-torch and python3-onnx (the harness itself may run in another)."""

import os

TORCH_PYTHON = "/usr/bin/python3"


def package_parent() -> str:
    """The directory to put on PYTHONPATH for `python3 -m re2po_bench...`."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module_env() -> dict[str, str]:
    """This process's environment with the package importable in a child."""
    env = dict(os.environ)
    inherited = env.get("PYTHONPATH")
    env["PYTHONPATH"] = package_parent() + (":" + inherited if inherited
                                            else "")
    return env

