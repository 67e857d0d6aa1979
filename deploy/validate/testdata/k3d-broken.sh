#!/usr/bin/env bash
# A deliberately broken script: shellcheck must refuse it (SC2086, SC2164).
dir=$1
cd $dir
rm -rf $dir/build
