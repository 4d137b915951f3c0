#!/bin/sh
echo app1
