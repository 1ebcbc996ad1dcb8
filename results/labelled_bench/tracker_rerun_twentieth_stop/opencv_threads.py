"""bench pipeline with OpenCV's thread pool at N threads (twentieth stop): opencv_threads.py N  (from the repository root)."""
import sys, cv2
n = int(sys.argv.pop(1)); cv2.setNumThreads(n)
sys.argv = ["main.py", "bench", "pipeline", "--no-serial"]
import runpy; runpy.run_path("main.py", run_name="__main__")
