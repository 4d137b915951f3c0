echo fg
