#!/bin/bash
grep -q changed ~/site/index.html
