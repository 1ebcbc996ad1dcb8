run() { .venv/bin/python main.py synth bench --labelled --codec both "$@" > /tmp/s14/lab_$(echo "$@" | tr ' -' '_').txt 2>&1; }
(run --faces 5 --seed 6100; run --faces 5 --seed 6700 --fps 20; run --faces 10 --sequences 10 --seed 7900 --fps 25) &
(run --faces 5 --seed 7300; run --faces 5 --seed 8500 --fps 60; run --faces 10 --sequences 10 --seed 9100) &
wait
