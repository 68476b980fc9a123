#!/bin/sh
# Upstream hook for Unla: a change is the same push as an add; Unla
# replaces the config of the same tenant and name and rebuilds its state.
exec sh ./add.sh
