#!/usr/bin/env python3
"""Runs every shell example of README.md against a live server, so that the README cannot drift.

Starts `aerosol serve` on free ports (port 0) with a fresh data directory, then runs the
README's ```sh blocks in order, in one bash session (as a reader would in one terminal) with
`set -euo pipefail`, from a scratch directory whose ./aerosol-data is the server's. The
binary's directory comes first on PATH; HOME and XDG_CONFIG_HOME are scratch directories, so
~/.aerosol and the saved login are the test's own; `127.0.0.1:8080` in the examples becomes the
server's port, AEROSOL_API_URL and AEROSOL_DEVICE_PORT point at the server. curl fails on an
HTTP error status (a timeout the example asks for with --max-time is fine).

A block right after `<!-- readme-examples: skip (why) -->` is not run. Exit code 0 when every
block succeeds; otherwise the failing block, its output and the server's log are printed.

    python3 Tests/Docs/readme_examples.py --bin .build/debug/aerosol
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP = re.compile(r"<!--\s*readme-examples:\s*skip\b")


def blocks(markdown):
    """The ```sh blocks as (line number, text), without those marked to skip."""
    lines = markdown.split("\n")
    found, index = [], 0
    while index < len(lines):
        if lines[index].strip() == "```sh":
            start = index + 1
            end = start
            while lines[end].strip() != "```":
                end += 1
            skipped = index > 0 and SKIP.search(lines[index - 1])
            if not skipped:
                found.append((start, "\n".join(lines[start:end])))
            index = end
        index += 1
    return found


def start_server(binary, workdir, environment):
    """Starts aerosol serve on free ports; returns the process, its HTTP, TCP and UDP device ports."""
    log = open(os.path.join(workdir, "server.log"), "w+")
    server = subprocess.Popen(
        [binary, "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--data-dir", "./aerosol-data"],
        cwd=workdir, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read()
        http = re.search(r"aerosol listening on http://127\.0\.0\.1:(\d+)", text)
        device = re.search(r"device gateways? listening on tcp://127\.0\.0\.1:(\d+)", text)
        udp = re.search(r"udp://127\.0\.0\.1:(\d+)", text)
        if http and device and udp:
            return server, int(http.group(1)), int(device.group(1)), int(udp.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    sys.exit("aerosol serve did not start:\n" + text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the aerosol binary")
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    parser.add_argument("--verbose", action="store_true", help="print the examples' output")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.bin)
    missing = [tool for tool in ["bash", "curl", "openssl"] if shutil.which(tool) is None]
    if missing:
        sys.exit(f"the README examples need {', '.join(missing)} on PATH")
    with open(arguments.readme, encoding="utf-8") as file:
        examples = blocks(file.read())

    workdir = tempfile.mkdtemp(prefix="aerosol-readme-")
    home = os.path.join(workdir, "home")
    os.makedirs(home)
    environment = dict(os.environ)
    environment.update({
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "PATH": os.path.dirname(binary) + os.pathsep + environment.get("PATH", ""),
    })
    for name in ["AEROSOL_TOKEN", "AEROSOL_DATA_DIR", "AEROSOL_PORT", "AEROSOL_HOST"]:
        environment.pop(name, None)
    server, port, device_port, udp_device_port = start_server(binary, workdir, environment)
    environment["AEROSOL_API_URL"] = f"http://127.0.0.1:{port}"
    environment["AEROSOL_DEVICE_PORT"] = str(device_port)
    environment["AEROSOL_UDP_DEVICE_PORT"] = str(udp_device_port)

    # An HTTP error fails an example; a --max-time an example asks for (exit code 28) does not.
    # A script rather than a shell function, so that `kill %1` of a background curl stops it.
    tools = os.path.join(workdir, "bin")
    os.makedirs(tools)
    with open(os.path.join(tools, "curl"), "w") as wrapper:
        wrapper.write(
            "#!/usr/bin/env bash\n"
            f"{shutil.which('curl')} --fail-with-body \"$@\" & child=$!\n"
            "trap 'kill $child 2>/dev/null; exit 143' TERM INT\n"
            "wait $child; status=$?\n"
            "[ $status -eq 28 ] && exit 0\n"
            "exit $status\n"
        )
    os.chmod(os.path.join(tools, "curl"), 0o755)
    environment["PATH"] = tools + os.pathsep + environment["PATH"]

    script = ["set -euo pipefail"]
    for line, text in examples:
        script.append(f"echo '== README.md line {line}' >&2")
        script.append(text.replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    script.append("echo '== every example ran' >&2")
    start = time.monotonic()
    shell = subprocess.Popen(
        ["bash", "-c", "\n".join(script)], cwd=workdir, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        output, _ = shell.communicate(timeout=300)
        status = shell.returncode
    except subprocess.TimeoutExpired:
        os.killpg(shell.pid, signal.SIGKILL)
        output, _ = shell.communicate()
        status = "timeout after 300 s"
    finally:
        # Whatever an example left running in the background (no job control: one group).
        try:
            os.killpg(shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    if status != 0:
        print(output)
        with open(os.path.join(workdir, "server.log")) as log:
            print("---- server log\n" + log.read()[-4000:])
        last = re.findall(r"== README.md line (\d+)", output)
        where = f" in the block at README.md line {last[-1]}" if last else ""
        sys.exit(f"README examples failed ({status}){where}; scratch directory {workdir}")
    if arguments.verbose:
        print(output)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"{len(examples)} README examples ran against a live server in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
