# The runs behind this folder (twenty-sixth stop), from the repository root, one at a time beside a LOSO run on
# 2 vCPUs. W: the banks-at-224 recipe's two all-clips trunks behind the shipped DGM (../dimpler_cause_twenty_fifth_stop/
# README.md, "Commands"). Needs an ffmpeg with libx264 on the PATH (an imageio-ffmpeg wheel's binary was used).
O=results/labelled_bench/bank224_twenty_sixth_stop
D=results/labelled_bench/dimpler_cause_twenty_fifth_stop
V=results/labelled_bench/varied_movements_twenty_second_stop
W=${W:-runs/bank224_all/live_bank224.pt}
b() { out=$1; shift; OMP_NUM_THREADS=1 python main.py synth bench --labelled --codec both "$@" > $out; }
b $O/textbook_seed6100_bank224.txt --faces 5 --seed 6100 --weights $W
b $O/textbook_seed7300_bank224.txt --faces 5 --seed 7300 --weights $W
b $O/textbook_faces10_seed5300_bank224.txt --faces 10 --seed 5300 --weights $W
for s in 900 12300 12900; do
  b $O/seed${s}_varied_bank224.txt --faces 5 --seed $s --movements varied --weights $W
done
PYTHONPATH=. python $V/compare.py $D/textbook_seed100_bank224.txt $D/textbook_seed900_bank224.txt \
  $O/textbook_*.txt > $O/compare_textbook_bank224.txt
PYTHONPATH=. python $V/pool.py $D/seed11300_varied_bank224.txt $O/seed*_varied_bank224.txt > $O/pool_varied_bank224.txt
python main.py analyze assets/demo/demo.mp4 --weights $W --out out/demo_bank224 --no-png
