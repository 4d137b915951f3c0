echo bg
