P=/work/main/.venv/bin/python
($P record_labelled.py b1700 1700 15 5 mp4v,h264; $P record_labelled.py b100 100 30 5 mp4v,h264; $P record_labelled.py b1500 1500 25 5 mp4v,h264) > /tmp/s14/rec1.log 2>&1 &
($P record_labelled.py b6700 6700 20 5 mp4v,h264; $P record_labelled.py b900 900 30 5 mp4v,h264; $P record_labelled.py b6100 6100 30 5 mp4v,h264) > /tmp/s14/rec2.log 2>&1 &
wait
while pgrep -f record_labelled.py > /dev/null; do sleep 5; done
P=/work/main/.venv/bin/python
$P record_labelled.py b8500 8500 60 5 mp4v,h264 > /tmp/s14/rec3.log 2>&1 &
$P record_labelled.py b2100 2100 60 5 mp4v,h264 > /tmp/s14/rec4.log 2>&1 &
wait
