#!/usr/bin/python3
"""jieba's segmentation, the reference for ernie::Segmenter (tests/segmenter_test.cc).

usage: /usr/bin/python3 tools/jieba_reference.py [--json-input] [--dict FILE] [INPUT|-]

Prints one JSON array per input line: jieba.lcut(line, HMM=False). Lines are split on '\n' only
(str.splitlines would also split on U+2028 and friends); a final newline ends the last line.
With --json-input every line is a JSON string instead, so texts may hold '\n' and '\r\n'.
With --dict jieba uses that main dictionary instead of its own (jieba.set_dictionary).
Needs only Debian's python3-jieba.
"""
import json
import logging
import sys

import jieba


def main(argv):
    json_input = "--json-input" in argv
    argv = [a for a in argv if a != "--json-input"]
    if "--dict" in argv:
        i = argv.index("--dict")
        jieba.set_dictionary(argv[i + 1])
        del argv[i:i + 2]
    jieba.setLogLevel(logging.WARNING)
    src = argv[0] if argv else "-"
    data = sys.stdin.buffer.read() if src == "-" else open(src, "rb").read()
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = sys.stdout
    for line in lines:
        text = json.loads(line) if json_input else line
        out.write(json.dumps(jieba.lcut(text, HMM=False), ensure_ascii=False))
        out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
