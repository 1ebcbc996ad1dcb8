# The runs behind this folder (twenty-second stop), from the repository root, one at a time beside a LOSO run on
# 2 vCPUs. W: the varied bank's file as assembled (now assets/weights/frl_dgt_live.pt); no --weights: the file
# shipped before it (the clips recipe's trunks). The *_turn20_file.txt runs used a first varied bank whose
# directions turned up to 20 degrees (BANK_TURN_DEG was 20). Needs an ffmpeg with libx264 on the PATH.
D=results/labelled_bench/varied_movements_twenty_second_stop
W=${W:-assets/weights/frl_dgt_live.pt}
b() { out=$1; shift; OMP_NUM_THREADS=1 python main.py synth bench --labelled --codec both "$@" > $out 2>&1; }
git show 271a8b1:assets/weights/frl_dgt_live.pt > /tmp/clips_file.pt
for s in 11300 900; do
  b $D/seed${s}_clips_file.txt --faces 5 --seed $s --movements varied --weights /tmp/clips_file.pt
  b $D/seed${s}_varied_file.txt --faces 5 --seed $s --movements varied --weights $W
done
b $D/textbook_seed100_clips_file.txt --faces 5 --seed 100 --weights /tmp/clips_file.pt
b $D/textbook_seed100_varied_file.txt --faces 5 --seed 100 --weights $W
b $D/textbook_seed900_varied_file.txt --faces 5 --seed 900 --weights $W
b $D/unseen_seeds_varied_file/faces5_seed6100_30fps.txt --faces 5 --seed 6100 --weights $W
b $D/unseen_seeds_varied_file/faces5_seed7300_30fps.txt --faces 5 --seed 7300 --weights $W
b $D/unseen_seeds_varied_file/faces10_seed5300_30fps.txt --faces 10 --sequences 10 --seed 5300 --weights $W
PYTHONPATH=. python $D/pool.py $D/seed11300_clips_file.txt $D/seed900_clips_file.txt > $D/pool_clips_file.txt
PYTHONPATH=. python $D/pool.py $D/seed11300_varied_file.txt $D/seed900_varied_file.txt > $D/pool_varied_file.txt
S=results/labelled_bench/tracker_rerun_twentieth_stop
PYTHONPATH=. python $D/compare.py $D/textbook_seed100_clips_file.txt $S/flow_levels/L1_predicted_seed900.txt \
  $S/seven_seeds_shipped/faces5_seed6100_30fps.txt $S/seven_seeds_shipped/faces5_seed7300_30fps.txt \
  $S/seven_seeds_shipped/faces10_seed5300_30fps.txt > $D/compare_textbook_clips_file.txt
PYTHONPATH=. python $D/compare.py $D/textbook_seed100_varied_file.txt $D/textbook_seed900_varied_file.txt \
  $D/unseen_seeds_varied_file/*.txt > $D/compare_textbook_varied_file.txt
