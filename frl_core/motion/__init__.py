"""Motion between an onset and an apex face: registration (head motion out), classical flow, flow images."""
