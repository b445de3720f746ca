#!/usr/bin/env python3
"""The configuration reference cannot drift (issue 18):
- README.md's "Configuration reference" section is exactly what
  doc/config_reference.py --readme writes (fix: run
  `python3 doc/config_reference.py --update-readme README.md`);
- every key control/config.cc accepts is in doc/config_reference.py, at
  the same place (section), and every key documented there is accepted;
- the generated man page popdns.yaml(5) names every key.
Keys are found in config.cc as the string literals it compares a key with
(`key == "x"`, `key != "x"`, `as<std::string>() != "x"`) or looks up
(`node["x"]`), attributed to the function they appear in; a new reading
function must be added to SECTION_OF below.
Usage: config_reference_test.py SOURCE_DIR BUILD_DIR
"""
import difflib
import os
import re
import subprocess
import sys

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "doc"))
import config_reference  # noqa: E402

# config.cc's reading functions -> the section of the reference whose keys
# they read. ReadKeysFile reads the top level of keys_file, whose only key
# is `keys`.
SECTION_OF = {
    "ReadTop": "",
    "ReadKeysFile": "",
    "ReadZones": "zones[]",
    "ReadUpdateRules": "zones[].update[]",
    "ReadKeys": "keys[]",
    "ReadManagement": "management",
    "ReadDataplane": "dataplane",
    "ReadPort": "dataplane.ports[]",
    "ReadXdp": "dataplane.xdp",
    "ReadHotAnswers": "dataplane.xdp.hot_answers",
    "ReadRrl": "rrl",
    "ReadCookies": "cookies",
    "ReadNetworks": "networks[]",
    "ReadHealthChecks": "health_checks[]",
    "ReadGeoIp": "geoip",
}

KEY_PATTERNS = [
    re.compile(r'\bkey\s*[!=]=\s*"([A-Za-z0-9_]+)"'),
    re.compile(r'as<std::string>\(\)\s*[!=]=\s*"([A-Za-z0-9_]+)"'),
    re.compile(r'\b[a-z]+\["([A-Za-z0-9_]+)"\]'),
]
# A function definition at column 0: "absl::Status ReadZones(".
FUNCTION = re.compile(r"^[A-Za-z].*?\b([A-Z]\w*)\(")

failures = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print(detail)


def parser_keys():
    """{(section, key)} from control/config.cc, and unmapped functions."""
    keys, unmapped = set(), set()
    function = None
    for line in open(os.path.join(SRC, "control", "config.cc")):
        m = FUNCTION.match(line)
        if m and not line.startswith(("namespace", "}")):
            function = m.group(1)
        code = line.split("//")[0]
        for pattern in KEY_PATTERNS:
            for name in pattern.findall(code):
                if function not in SECTION_OF:
                    unmapped.add("%s (key '%s')" % (function, name))
                else:
                    keys.add((SECTION_OF[function], name))
    return keys, unmapped


def main():
    # README section == generator output.
    readme = open(os.path.join(SRC, "README.md")).read()
    begin = readme.find(config_reference.README_BEGIN)
    end = readme.find(config_reference.README_END)
    check(begin >= 0 and end > begin, "README.md has the config-reference "
          "markers")
    if begin >= 0 and end > begin:
        current = readme[begin:end + len(config_reference.README_END) + 1]
        wanted = config_reference.readme_section()
        diff = "".join(difflib.unified_diff(
            current.splitlines(True), wanted.splitlines(True),
            "README.md", "doc/config_reference.py --readme"))
        check(current == wanted, "README.md's configuration reference is "
              "the generated one (python3 doc/config_reference.py "
              "--update-readme README.md)", diff)

    # Parser keys == documented keys, section by section.
    documented = {(s.path, k.name) for s in config_reference.SECTIONS
                  for k in s.keys}
    accepted, unmapped = parser_keys()
    check(len(accepted) > 30, "found the keys of control/config.cc (%d)" %
          len(accepted))
    check(not unmapped, "every function of config.cc that reads keys has a "
          "section in SECTION_OF", "unmapped: %s" % sorted(unmapped))

    def show(pairs):
        return ", ".join(sorted((s + "." if s else "") + k for s, k in pairs))
    missing = accepted - documented
    check(not missing, "every key config.cc accepts is documented in "
          "doc/config_reference.py", "undocumented: " + show(missing))
    stale = documented - accepted
    check(not stale, "every documented key is accepted by config.cc",
          "not in config.cc: " + show(stale))

    # The generated man page has every key.
    page = os.path.join(BUILD, "doc", "popdns.yaml.5")
    text = open(page).read() if os.path.exists(page) else ""
    check(text != "", "the build made doc/popdns.yaml.5")
    absent = [k for _, k in documented if "\n.B " + k +
              "\n" not in text]
    check(text and not absent, "popdns.yaml(5) has an entry per key",
          "absent: %s" % absent)
    r = subprocess.run([sys.executable,
                        os.path.join(SRC, "doc", "config_reference.py"),
                        "--man", "x"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.split("\n", 1)[1:] ==
          text.split("\n", 1)[1:], "the installed page is the generator's "
          "output (past its version line)")

    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
