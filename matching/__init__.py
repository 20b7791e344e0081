"""The biometric core: pure numpy/OpenCV/dlib/FAISS code, no web, database or devices."""
