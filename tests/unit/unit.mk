# placeholder, replaced below
unit:
