print("suyuan")
