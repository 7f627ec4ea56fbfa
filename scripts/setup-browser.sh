#!/bin/sh
# What the browser tests (cli/html.test.ts) need: a Chromium on the machine. playwright-core drives it and
# downloads nothing. As root on Debian/Ubuntu a missing one is installed; elsewhere this only says what is missing.
for b in "$STEERSPEC_CHROMIUM" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable; do
  if [ -n "$b" ] && [ -x "$b" ]; then echo "setup:browser: using $b"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && echo "setup:browser: installed /usr/bin/chromium" && exit 0
fi
echo "setup:browser: no Chromium found and none installed; the browser tests will be skipped (they say so)"
