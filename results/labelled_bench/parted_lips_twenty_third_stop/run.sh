# The runs behind this folder (twenty-third stop), from the repository root, one at a time beside a LOSO run on
# 2 vCPUs. W: the parted-lips recipe's file as assembled (runs/live_lips_all/live_lips.pt, then shipped as
# assets/weights/frl_dgt_live.pt); the varied bank's file shipped before it is 31310f3's. Needs an ffmpeg with
# libx264 on the PATH (an imageio-ffmpeg wheel's binary was used).
D=results/labelled_bench/parted_lips_twenty_third_stop
V=results/labelled_bench/varied_movements_twenty_second_stop
W=${W:-runs/live_lips_all/live_lips.pt}
b() { out=$1; shift; OMP_NUM_THREADS=1 python main.py synth bench --labelled --codec both "$@" > $out 2>&1; }
for s in 11300 900; do
  b $D/seed${s}_lips_file.txt --faces 5 --seed $s --movements varied --weights $W
done
b $D/textbook_seed100_lips_file.txt --faces 5 --seed 100 --weights $W
b $D/textbook_seed900_lips_file.txt --faces 5 --seed 900 --weights $W
b $D/unseen_seeds/faces5_seed6100_30fps.txt --faces 5 --seed 6100 --weights $W
b $D/unseen_seeds/faces5_seed7300_30fps.txt --faces 5 --seed 7300 --weights $W
b $D/unseen_seeds/faces10_seed5300_30fps.txt --faces 10 --sequences 10 --seed 5300 --weights $W
# two more varied seeds for both files: more smiles with parted lips and dimplers
git show 31310f3:assets/weights/frl_dgt_live.pt > /tmp/varied_file.pt
for s in 12300 12900; do
  b $D/seed${s}_varied_file.txt --faces 5 --seed $s --movements varied --weights /tmp/varied_file.pt
  b $D/seed${s}_lips_file.txt --faces 5 --seed $s --movements varied --weights $W
done
PYTHONPATH=. python $V/pool.py $V/seed11300_varied_file.txt $V/seed900_varied_file.txt $D/seed12300_varied_file.txt \
  $D/seed12900_varied_file.txt > $D/pool_varied_file.txt
PYTHONPATH=. python $V/pool.py $D/seed*_lips_file.txt > $D/pool_lips_file.txt
PYTHONPATH=. python $V/compare.py $D/textbook_seed100_lips_file.txt $D/textbook_seed900_lips_file.txt \
  $D/unseen_seeds/*.txt > $D/compare_textbook_lips_file.txt
