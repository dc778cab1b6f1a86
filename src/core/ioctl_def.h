/* SPDX-License-Identifier: MIT */
/*
 * Preprocessor helpers for reading src/core/ioctls.def.  Each reader
 * defines IOASID_IOCTL, IOASID_IOCTL_INT and IOASID_STRUCT for what it
 * makes of an entry, then includes the list; the helpers here apply a
 * macro to each element of an entry's variadic field list.
 */
#ifndef IOASID_CORE_IOCTL_DEF_H
#define IOASID_CORE_IOCTL_DEF_H

#define IOASID_UNPACK(...) __VA_ARGS__
/* Call m with an argument list made by expanding `args`, so a tuple's
 * elements become separate arguments.  A macro is not expanded inside its
 * own expansion, so each level of nesting has its own. */
#define IOASID_CALL(m, args) m args
#define IOASID_CALL2(m, args) m args
#define IOASID_CALL3(m, args) m args

/* IOASID_FOR_EACH(m, a, x1, x2, ...) -> m(a, x1) m(a, x2) ...: up to 96. */
#define IOASID_FE_1(m, a, x) m(a, x)
#define IOASID_FE_2(m, a, x, ...) m(a, x) IOASID_FE_1(m, a, __VA_ARGS__)
#define IOASID_FE_3(m, a, x, ...) m(a, x) IOASID_FE_2(m, a, __VA_ARGS__)
#define IOASID_FE_4(m, a, x, ...) m(a, x) IOASID_FE_3(m, a, __VA_ARGS__)
#define IOASID_FE_5(m, a, x, ...) m(a, x) IOASID_FE_4(m, a, __VA_ARGS__)
#define IOASID_FE_6(m, a, x, ...) m(a, x) IOASID_FE_5(m, a, __VA_ARGS__)
#define IOASID_FE_7(m, a, x, ...) m(a, x) IOASID_FE_6(m, a, __VA_ARGS__)
#define IOASID_FE_8(m, a, x, ...) m(a, x) IOASID_FE_7(m, a, __VA_ARGS__)
#define IOASID_FE_9(m, a, x, ...) m(a, x) IOASID_FE_8(m, a, __VA_ARGS__)
#define IOASID_FE_10(m, a, x, ...) m(a, x) IOASID_FE_9(m, a, __VA_ARGS__)
#define IOASID_FE_11(m, a, x, ...) m(a, x) IOASID_FE_10(m, a, __VA_ARGS__)
#define IOASID_FE_12(m, a, x, ...) m(a, x) IOASID_FE_11(m, a, __VA_ARGS__)
#define IOASID_FE_13(m, a, x, ...) m(a, x) IOASID_FE_12(m, a, __VA_ARGS__)
#define IOASID_FE_14(m, a, x, ...) m(a, x) IOASID_FE_13(m, a, __VA_ARGS__)
#define IOASID_FE_15(m, a, x, ...) m(a, x) IOASID_FE_14(m, a, __VA_ARGS__)
#define IOASID_FE_16(m, a, x, ...) m(a, x) IOASID_FE_15(m, a, __VA_ARGS__)
#define IOASID_FE_17(m, a, x, ...) m(a, x) IOASID_FE_16(m, a, __VA_ARGS__)
#define IOASID_FE_18(m, a, x, ...) m(a, x) IOASID_FE_17(m, a, __VA_ARGS__)
#define IOASID_FE_19(m, a, x, ...) m(a, x) IOASID_FE_18(m, a, __VA_ARGS__)
#define IOASID_FE_20(m, a, x, ...) m(a, x) IOASID_FE_19(m, a, __VA_ARGS__)
#define IOASID_FE_21(m, a, x, ...) m(a, x) IOASID_FE_20(m, a, __VA_ARGS__)
#define IOASID_FE_22(m, a, x, ...) m(a, x) IOASID_FE_21(m, a, __VA_ARGS__)
#define IOASID_FE_23(m, a, x, ...) m(a, x) IOASID_FE_22(m, a, __VA_ARGS__)
#define IOASID_FE_24(m, a, x, ...) m(a, x) IOASID_FE_23(m, a, __VA_ARGS__)
#define IOASID_FE_25(m, a, x, ...) m(a, x) IOASID_FE_24(m, a, __VA_ARGS__)
#define IOASID_FE_26(m, a, x, ...) m(a, x) IOASID_FE_25(m, a, __VA_ARGS__)
#define IOASID_FE_27(m, a, x, ...) m(a, x) IOASID_FE_26(m, a, __VA_ARGS__)
#define IOASID_FE_28(m, a, x, ...) m(a, x) IOASID_FE_27(m, a, __VA_ARGS__)
#define IOASID_FE_29(m, a, x, ...) m(a, x) IOASID_FE_28(m, a, __VA_ARGS__)
#define IOASID_FE_30(m, a, x, ...) m(a, x) IOASID_FE_29(m, a, __VA_ARGS__)
#define IOASID_FE_31(m, a, x, ...) m(a, x) IOASID_FE_30(m, a, __VA_ARGS__)
#define IOASID_FE_32(m, a, x, ...) m(a, x) IOASID_FE_31(m, a, __VA_ARGS__)
#define IOASID_FE_33(m, a, x, ...) m(a, x) IOASID_FE_32(m, a, __VA_ARGS__)
#define IOASID_FE_34(m, a, x, ...) m(a, x) IOASID_FE_33(m, a, __VA_ARGS__)
#define IOASID_FE_35(m, a, x, ...) m(a, x) IOASID_FE_34(m, a, __VA_ARGS__)
#define IOASID_FE_36(m, a, x, ...) m(a, x) IOASID_FE_35(m, a, __VA_ARGS__)
#define IOASID_FE_37(m, a, x, ...) m(a, x) IOASID_FE_36(m, a, __VA_ARGS__)
#define IOASID_FE_38(m, a, x, ...) m(a, x) IOASID_FE_37(m, a, __VA_ARGS__)
#define IOASID_FE_39(m, a, x, ...) m(a, x) IOASID_FE_38(m, a, __VA_ARGS__)
#define IOASID_FE_40(m, a, x, ...) m(a, x) IOASID_FE_39(m, a, __VA_ARGS__)
#define IOASID_FE_41(m, a, x, ...) m(a, x) IOASID_FE_40(m, a, __VA_ARGS__)
#define IOASID_FE_42(m, a, x, ...) m(a, x) IOASID_FE_41(m, a, __VA_ARGS__)
#define IOASID_FE_43(m, a, x, ...) m(a, x) IOASID_FE_42(m, a, __VA_ARGS__)
#define IOASID_FE_44(m, a, x, ...) m(a, x) IOASID_FE_43(m, a, __VA_ARGS__)
#define IOASID_FE_45(m, a, x, ...) m(a, x) IOASID_FE_44(m, a, __VA_ARGS__)
#define IOASID_FE_46(m, a, x, ...) m(a, x) IOASID_FE_45(m, a, __VA_ARGS__)
#define IOASID_FE_47(m, a, x, ...) m(a, x) IOASID_FE_46(m, a, __VA_ARGS__)
#define IOASID_FE_48(m, a, x, ...) m(a, x) IOASID_FE_47(m, a, __VA_ARGS__)
#define IOASID_FE_49(m, a, x, ...) m(a, x) IOASID_FE_48(m, a, __VA_ARGS__)
#define IOASID_FE_50(m, a, x, ...) m(a, x) IOASID_FE_49(m, a, __VA_ARGS__)
#define IOASID_FE_51(m, a, x, ...) m(a, x) IOASID_FE_50(m, a, __VA_ARGS__)
#define IOASID_FE_52(m, a, x, ...) m(a, x) IOASID_FE_51(m, a, __VA_ARGS__)
#define IOASID_FE_53(m, a, x, ...) m(a, x) IOASID_FE_52(m, a, __VA_ARGS__)
#define IOASID_FE_54(m, a, x, ...) m(a, x) IOASID_FE_53(m, a, __VA_ARGS__)
#define IOASID_FE_55(m, a, x, ...) m(a, x) IOASID_FE_54(m, a, __VA_ARGS__)
#define IOASID_FE_56(m, a, x, ...) m(a, x) IOASID_FE_55(m, a, __VA_ARGS__)
#define IOASID_FE_57(m, a, x, ...) m(a, x) IOASID_FE_56(m, a, __VA_ARGS__)
#define IOASID_FE_58(m, a, x, ...) m(a, x) IOASID_FE_57(m, a, __VA_ARGS__)
#define IOASID_FE_59(m, a, x, ...) m(a, x) IOASID_FE_58(m, a, __VA_ARGS__)
#define IOASID_FE_60(m, a, x, ...) m(a, x) IOASID_FE_59(m, a, __VA_ARGS__)
#define IOASID_FE_61(m, a, x, ...) m(a, x) IOASID_FE_60(m, a, __VA_ARGS__)
#define IOASID_FE_62(m, a, x, ...) m(a, x) IOASID_FE_61(m, a, __VA_ARGS__)
#define IOASID_FE_63(m, a, x, ...) m(a, x) IOASID_FE_62(m, a, __VA_ARGS__)
#define IOASID_FE_64(m, a, x, ...) m(a, x) IOASID_FE_63(m, a, __VA_ARGS__)
#define IOASID_FE_65(m, a, x, ...) m(a, x) IOASID_FE_64(m, a, __VA_ARGS__)
#define IOASID_FE_66(m, a, x, ...) m(a, x) IOASID_FE_65(m, a, __VA_ARGS__)
#define IOASID_FE_67(m, a, x, ...) m(a, x) IOASID_FE_66(m, a, __VA_ARGS__)
#define IOASID_FE_68(m, a, x, ...) m(a, x) IOASID_FE_67(m, a, __VA_ARGS__)
#define IOASID_FE_69(m, a, x, ...) m(a, x) IOASID_FE_68(m, a, __VA_ARGS__)
#define IOASID_FE_70(m, a, x, ...) m(a, x) IOASID_FE_69(m, a, __VA_ARGS__)
#define IOASID_FE_71(m, a, x, ...) m(a, x) IOASID_FE_70(m, a, __VA_ARGS__)
#define IOASID_FE_72(m, a, x, ...) m(a, x) IOASID_FE_71(m, a, __VA_ARGS__)
#define IOASID_FE_73(m, a, x, ...) m(a, x) IOASID_FE_72(m, a, __VA_ARGS__)
#define IOASID_FE_74(m, a, x, ...) m(a, x) IOASID_FE_73(m, a, __VA_ARGS__)
#define IOASID_FE_75(m, a, x, ...) m(a, x) IOASID_FE_74(m, a, __VA_ARGS__)
#define IOASID_FE_76(m, a, x, ...) m(a, x) IOASID_FE_75(m, a, __VA_ARGS__)
#define IOASID_FE_77(m, a, x, ...) m(a, x) IOASID_FE_76(m, a, __VA_ARGS__)
#define IOASID_FE_78(m, a, x, ...) m(a, x) IOASID_FE_77(m, a, __VA_ARGS__)
#define IOASID_FE_79(m, a, x, ...) m(a, x) IOASID_FE_78(m, a, __VA_ARGS__)
#define IOASID_FE_80(m, a, x, ...) m(a, x) IOASID_FE_79(m, a, __VA_ARGS__)
#define IOASID_FE_81(m, a, x, ...) m(a, x) IOASID_FE_80(m, a, __VA_ARGS__)
#define IOASID_FE_82(m, a, x, ...) m(a, x) IOASID_FE_81(m, a, __VA_ARGS__)
#define IOASID_FE_83(m, a, x, ...) m(a, x) IOASID_FE_82(m, a, __VA_ARGS__)
#define IOASID_FE_84(m, a, x, ...) m(a, x) IOASID_FE_83(m, a, __VA_ARGS__)
#define IOASID_FE_85(m, a, x, ...) m(a, x) IOASID_FE_84(m, a, __VA_ARGS__)
#define IOASID_FE_86(m, a, x, ...) m(a, x) IOASID_FE_85(m, a, __VA_ARGS__)
#define IOASID_FE_87(m, a, x, ...) m(a, x) IOASID_FE_86(m, a, __VA_ARGS__)
#define IOASID_FE_88(m, a, x, ...) m(a, x) IOASID_FE_87(m, a, __VA_ARGS__)
#define IOASID_FE_89(m, a, x, ...) m(a, x) IOASID_FE_88(m, a, __VA_ARGS__)
#define IOASID_FE_90(m, a, x, ...) m(a, x) IOASID_FE_89(m, a, __VA_ARGS__)
#define IOASID_FE_91(m, a, x, ...) m(a, x) IOASID_FE_90(m, a, __VA_ARGS__)
#define IOASID_FE_92(m, a, x, ...) m(a, x) IOASID_FE_91(m, a, __VA_ARGS__)
#define IOASID_FE_93(m, a, x, ...) m(a, x) IOASID_FE_92(m, a, __VA_ARGS__)
#define IOASID_FE_94(m, a, x, ...) m(a, x) IOASID_FE_93(m, a, __VA_ARGS__)
#define IOASID_FE_95(m, a, x, ...) m(a, x) IOASID_FE_94(m, a, __VA_ARGS__)
#define IOASID_FE_96(m, a, x, ...) m(a, x) IOASID_FE_95(m, a, __VA_ARGS__)
#define IOASID_FE_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, _65, _66, _67, _68, _69, _70, _71, _72, _73, _74, _75, _76, _77, _78, _79, _80, _81, _82, _83, _84, _85, _86, _87, _88, _89, _90, _91, _92, _93, _94, _95, _96, n, ...) n
#define IOASID_FOR_EACH(m, a, ...)                                      \
	IOASID_FE_PICK(__VA_ARGS__, IOASID_FE_96, IOASID_FE_95, IOASID_FE_94, IOASID_FE_93, IOASID_FE_92, IOASID_FE_91, \
	IOASID_FE_90, IOASID_FE_89, IOASID_FE_88, IOASID_FE_87, IOASID_FE_86, IOASID_FE_85, \
	IOASID_FE_84, IOASID_FE_83, IOASID_FE_82, IOASID_FE_81, IOASID_FE_80, IOASID_FE_79, \
	IOASID_FE_78, IOASID_FE_77, IOASID_FE_76, IOASID_FE_75, IOASID_FE_74, IOASID_FE_73, \
	IOASID_FE_72, IOASID_FE_71, IOASID_FE_70, IOASID_FE_69, IOASID_FE_68, IOASID_FE_67, \
	IOASID_FE_66, IOASID_FE_65, IOASID_FE_64, IOASID_FE_63, IOASID_FE_62, IOASID_FE_61, \
	IOASID_FE_60, IOASID_FE_59, IOASID_FE_58, IOASID_FE_57, IOASID_FE_56, IOASID_FE_55, \
	IOASID_FE_54, IOASID_FE_53, IOASID_FE_52, IOASID_FE_51, IOASID_FE_50, IOASID_FE_49, \
	IOASID_FE_48, IOASID_FE_47, IOASID_FE_46, IOASID_FE_45, IOASID_FE_44, IOASID_FE_43, \
	IOASID_FE_42, IOASID_FE_41, IOASID_FE_40, IOASID_FE_39, IOASID_FE_38, IOASID_FE_37, \
	IOASID_FE_36, IOASID_FE_35, IOASID_FE_34, IOASID_FE_33, IOASID_FE_32, IOASID_FE_31, \
	IOASID_FE_30, IOASID_FE_29, IOASID_FE_28, IOASID_FE_27, IOASID_FE_26, IOASID_FE_25, \
	IOASID_FE_24, IOASID_FE_23, IOASID_FE_22, IOASID_FE_21, IOASID_FE_20, IOASID_FE_19, \
	IOASID_FE_18, IOASID_FE_17, IOASID_FE_16, IOASID_FE_15, IOASID_FE_14, IOASID_FE_13, \
	IOASID_FE_12, IOASID_FE_11, IOASID_FE_10, IOASID_FE_9, IOASID_FE_8, IOASID_FE_7, \
	IOASID_FE_6, IOASID_FE_5, IOASID_FE_4, IOASID_FE_3, IOASID_FE_2, IOASID_FE_1)(m, a, __VA_ARGS__)
/* How many arguments (1 to 96). */
#define IOASID_NARGS(...) \
	IOASID_FE_PICK(__VA_ARGS__, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81, \
	80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, 68, 67, 66, 65, \
	64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, \
	48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, \
	32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, \
	16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

#endif
