using System.Globalization;

namespace XdpCompiler.Generator.Tests.IntegerSemantics;

/// <summary>The groups of operations; each group of one operand type becomes one XDP program.</summary>
internal enum Category
{
    Arithmetic,
    Comparison,
    Shift,
    DivRem,
    Conversion,
    Compound,
    Mixed,
    Pattern,
    Random,
}

/// <summary>
/// One computation whose result the program stores into the packet. An expression's result type comes from Roslyn
/// (it is whatever C# says <c>var r = expr</c> is); a statement writes through <c>@OUT</c> (an lvalue of
/// <see cref="StoreType"/> at its packet slot) or <c>@P</c> (the slot's <c>byte*</c>).
/// </summary>
/// <param name="Operator">The operator under test, for the coverage table.</param>
/// <param name="MayBeInvalid">C# itself may reject it (e.g. <c>-x</c> on a ulong, long + ulong); such probes are dropped.</param>
internal sealed record Probe(string Operator, string Code, bool IsStatement = false, string? StoreType = null, bool MayBeInvalid = false)
{
    public static Probe Expr(string op, string code, bool mayBeInvalid = false) => new(op, code, MayBeInvalid: mayBeInvalid);

    public static Probe Stmt(string op, string storeType, string code) => new(op, code, IsStatement: true, StoreType: storeType);
}

/// <summary>
/// What each program computes. The operands are always <c>a</c> and <c>b</c> (of the type under test, read from the
/// packet at offsets 0 and 8), <c>c</c> (an int at offset 16: shift counts) and, for <see cref="Category.Mixed"/>,
/// <c>b_U</c> (the bytes at offset 8 read as every other integer type U).
/// </summary>
internal static class ProbeCatalog
{
    /// <summary>Constant shift counts: in range, at and past each width, negative (C# masks them all).</summary>
    public static readonly int[] ShiftCounts = [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, -1, -8, -31, -32, -33, -63, -64, int.MinValue, int.MaxValue];

    /// <summary>Shift counts read from the packet.</summary>
    public static readonly int[] VariableCounts =
        [0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 63, 64, 65, 127, 128, 255, 256, 0x1_0000 + 3, -1, -7, -31, -32, -33, -63, -64, int.MinValue, int.MaxValue];

    /// <summary>Static readonly fields of the type under test (the compiler reads their initializers as immediates).</summary>
    public static readonly string[] FieldNames = ["RoMin", "RoMax", "RoSeven", "RoTop"];

    /// <summary>
    /// The declarations of <see cref="FieldNames"/>. Initializers must be C# constants, so nint and nuint stay in the
    /// int and uint ranges; they are casts, not parenthesized (a parenthesized initializer is rejected, see
    /// IntegerSemanticsTests.ParenthesizedConstantInitializerIsAConstant).
    /// </summary>
    public static string Fields(IntType t)
    {
        var (min, max, top) = t.Name switch
        {
            "nint" => (0xFFFF_FFFF_8000_0000UL, 0x7FFF_FFFFUL, 0x4000_0000UL),
            "nuint" => (0UL, 0xFFFF_FFFFUL, 0x8000_0000UL),
            _ => (t.MinBits, t.MaxBits, t.TopBit),
        };
        string Init(ulong bits) => t.Literal(bits) is var literal && literal.StartsWith("((", StringComparison.Ordinal)
            ? literal.Substring(1, literal.Length - 2)
            : literal;
        return $"static readonly {t.Name} RoMin = {Init(min)}, RoMax = {Init(max)}, RoSeven = {Init(7)}, RoTop = {Init(top)};";
    }

    private static readonly string[] ArithmeticOps = ["+", "-", "*", "&", "|", "^"];
    private static readonly string[] CompareOps = ["==", "!=", "<", "<=", ">", ">="];
    private static readonly string[] ShiftOps = ["<<", ">>", ">>>"];

    public static IReadOnlyList<Probe> For(IntType t, Category category) => category switch
    {
        Category.Arithmetic => Arithmetic(t),
        Category.Comparison => Comparison(t),
        Category.Shift => Shift(t),
        Category.DivRem => DivRem(t),
        Category.Conversion => Conversion(t),
        Category.Compound => Compound(t),
        Category.Mixed => Mixed(t),
        Category.Pattern => Pattern(t),
        Category.Random => RandomExpressions(t),
        _ => throw new ArgumentOutOfRangeException(nameof(category)),
    };

    /// <summary>The verdict the program returns: it depends on a comparison only in the comparison program.</summary>
    public static string Verdict(Category category) => category == Category.Comparison
        ? "a < b ? XdpAction.Drop : a == b ? XdpAction.Tx : XdpAction.Pass"
        : "XdpAction.Tx";

    private static List<Probe> Arithmetic(IntType t)
    {
        var probes = new List<Probe>();
        foreach (var op in ArithmeticOps)
            probes.Add(Probe.Expr(op, $"a {op} b"));
        foreach (var k in t.Constants().Select(t.Literal))
        {
            foreach (var op in ArithmeticOps)
                probes.Add(Probe.Expr(op + "K", $"a {op} {k}"));
            probes.Add(Probe.Expr("K-", $"{k} - a"));
        }

        probes.Add(Probe.Expr("~", "~a"));
        probes.Add(Probe.Expr("~", "~b"));
        probes.Add(Probe.Expr("unary -", "-a", mayBeInvalid: true));
        probes.Add(Probe.Expr("unary -", "-(-b)", mayBeInvalid: true));
        probes.Add(Probe.Expr("unary +", "+a"));
        probes.Add(Probe.Expr("*", "a * b + a"));
        probes.Add(Probe.Expr("*", "(a + b) * (a - b)"));
        probes.Add(Probe.Expr("*", "a * a * a"));
        probes.Add(Probe.Expr("~", "~(a ^ b) & (a | ~b)"));
        foreach (var field in FieldNames)
        {
            probes.Add(Probe.Expr("+ field", $"a + {field}"));
            probes.Add(Probe.Expr("* field", $"a * {field}"));
            probes.Add(Probe.Expr("< field", $"a < {field}"));
            probes.Add(Probe.Expr("^ field", $"{field} ^ b"));
        }
        return probes;
    }

    private static List<Probe> Comparison(IntType t)
    {
        var probes = new List<Probe>();
        foreach (var op in CompareOps)
        {
            probes.Add(Probe.Expr(op, $"a {op} b"));
            probes.Add(Probe.Expr(op, $"b {op} a"));
        }

        // The same comparisons as branches (if), which lower to conditional jumps rather than a 0/1 value.
        probes.Add(Probe.Stmt("if", "int", BranchFlags("a", "b")));
        foreach (var k in t.Constants().Select(t.Literal))
        {
            foreach (var op in CompareOps)
                probes.Add(Probe.Expr(op + "K", $"a {op} {k}"));
            probes.Add(Probe.Stmt("if K", "int", BranchFlags("a", k)));
            probes.Add(Probe.Stmt("if K", "int", BranchFlags(k, "a")));
        }

        probes.Add(Probe.Expr("<", "a + b < a"));
        probes.Add(Probe.Expr(">", "a - b > a"));
        probes.Add(Probe.Expr("==", "(a ^ b) == 0"));
        probes.Add(Probe.Expr("<", "(a & b) < (a | b)"));
        probes.Add(Probe.Expr("!", "!(a <= b)"));
        probes.Add(Probe.Expr("&&", $"a < b && b < ({t.Name})c"));
        probes.Add(Probe.Expr("||", $"a > b || b == ({t.Name})c"));
        probes.Add(Probe.Expr("== bool", "(a < b) == (b < a)"));
        probes.Add(Probe.Expr("(T) <", $"({t.Name})(a + b) < b"));
        probes.Add(Probe.Expr("(T) ==", $"({t.Name})(a * b) == {t.Literal(t.TopBit)}"));
        probes.Add(Probe.Expr("(T) >", $"({t.Name})~a > {t.Literal(0)}"));
        return probes;
    }

    /// <summary>Six comparisons as if statements, each setting one bit of a flags word stored to the slot.</summary>
    private static string BranchFlags(string left, string right)
    {
        var parts = CompareOps.Select((op, i) => $"if ({left} {op} {right}) f |= {1 << i};");
        return $"{{ int f = 0; {string.Join(" ", parts)} @OUT = f; }}";
    }

    private static List<Probe> Shift(IntType t)
    {
        var probes = new List<Probe>();
        var promoted = t.Promoted;
        foreach (var op in ShiftOps)
        {
            probes.Add(Probe.Expr(op, $"a {op} c"));
            probes.Add(Probe.Expr(op, $"b {op} c"));
            foreach (var count in ShiftCounts)
                probes.Add(Probe.Expr(op + "K", $"a {op} {IntLiteral(count)}"));
            foreach (var countType in new[] { "byte", "sbyte", "short", "ushort", "char" })
                probes.Add(Probe.Expr(op + " (" + countType + ")", $"a {op} ({countType})c"));
            probes.Add(Probe.Expr(op, $"a {op} (c & 7)"));
            probes.Add(Probe.Expr(op, $"a {op} -c"));
            probes.Add(Probe.Expr(op, $"a {op} (c + 1)"));
            // The count is the other operand of the type under test: C# accepts only types that convert to int.
            probes.Add(Probe.Expr(op + " T", $"a {op} b", mayBeInvalid: true));
            // A constant shifted by a variable count.
            foreach (var k in new ulong[] { 1, t.TopBit, t.Mask, t.MaxBits, 0x5555_5555_5555_5555 }.Distinct())
                probes.Add(Probe.Expr("K" + op, $"{t.Literal(k)} {op} c"));
        }

        probes.Add(Probe.Expr("<< >>", "(a << c) >> c"));
        probes.Add(Probe.Expr("<< >>>", "(a << c) >>> (c + 3)"));
        probes.Add(Probe.Expr(">> <<", $"({promoted.Name})(a >> c) << c"));
        return probes;
    }

    private static List<Probe> DivRem(IntType t)
    {
        var probes = new List<Probe>();
        var p = t.Promoted;
        // Divisors as bits of the promoted type; T's own MinValue and MaxValue are widened to it the C# way.
        ulong Widened(ulong bits) => (ulong)t.ValueOf(bits) & p.Mask;
        var divisors = new List<ulong>
        {
            1, 2, 3, 5, 7, 10, 16, 255, 256, 1000, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, p.MaxBits, p.MaxBits - 1,
            Widened(t.MaxBits), Widened(t.MaxBits - 1), Widened(t.MinBits), Widened(t.MinBits + 1),
        };
        if (p.Signed)
            divisors.AddRange([p.Mask - 1, p.Mask - 2, p.Mask - 6, p.Mask - 15, p.Mask - 255, p.MinBits, p.MinBits + 1]);
        else
            divisors.AddRange([p.TopBit, p.TopBit + 1, p.Mask, p.Mask - 1]);
        if (p.Bits == 64)
            divisors.AddRange([0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0001, 1_000_000_007]);

        foreach (var bits in divisors.Select(d => d & p.Mask).Distinct())
        {
            // Division by zero throws in C#; signed division by -1 is rejected by design (XDP0001).
            if (bits == 0 || (p.Signed && (bits & p.Mask) == p.Mask))
                continue;
            var divisor = p.Literal(bits);
            probes.Add(Probe.Expr("/", $"a / {divisor}"));
            probes.Add(Probe.Expr("%", $"a % {divisor}"));
        }

        // Untyped literals: for uint and char these pick other operators (uint / -3 is a long division).
        foreach (var literal in new[] { "3", "-3", "7", "-7", "1000000" })
        {
            probes.Add(Probe.Expr("/ lit", $"a / {literal}", mayBeInvalid: true));
            probes.Add(Probe.Expr("% lit", $"a % {literal}", mayBeInvalid: true));
        }

        probes.Add(Probe.Expr("/ field", "a / RoSeven"));
        probes.Add(Probe.Expr("% field", "a % RoSeven"));
        probes.Add(Probe.Expr("/ field", "a / RoMax"));
        probes.Add(Probe.Expr("% field", "a % RoTop"));
        probes.Add(Probe.Expr("/", $"(a + b) / {p.Literal(3)}"));
        probes.Add(Probe.Expr("%", $"(a ^ b) % {p.Literal(10)}"));
        probes.Add(Probe.Expr("/ %", $"a / {p.Literal(7)} * {p.Literal(7)} + a % {p.Literal(7)}"));
        return probes;
    }

    private static List<Probe> Conversion(IntType t)
    {
        var probes = new List<Probe>();
        foreach (var u in IntType.All)
        {
            probes.Add(Probe.Expr("(U)", $"({u.Name})a"));
            probes.Add(Probe.Expr("(long)(U)", $"(long)({u.Name})a"));
            probes.Add(Probe.Expr("(ulong)(U)", $"(ulong)({u.Name})a"));
            probes.Add(Probe.Expr("(T)(U)", $"({t.Name})({u.Name})a"));
            probes.Add(Probe.Expr("(U)(a*b)", $"({u.Name})(a * b)"));
            // An implicit conversion where C# has one (a local of type U assigned from a).
            probes.Add(Probe.Stmt("implicit", u.Name, $"{{ {u.Name} v = a; @OUT = v; }}") with { MayBeInvalid = true });
        }

        return probes;
    }

    private static List<Probe> Compound(IntType t)
    {
        var probes = new List<Probe>();
        var name = t.Name;
        void Local(string op, string body) => probes.Add(Probe.Stmt(op, name, $"{{ {name} x = a; {body} @OUT = x; }}"));
        void Memory(string op, string body) => probes.Add(Probe.Stmt("mem " + op, name, $"{{ {name}* q = ({name}*)@P; *q = a; {body} }}"));

        foreach (var op in ArithmeticOps)
        {
            Local(op + "=", $"x {op}= b;");
            Memory(op + "=", $"*q {op}= b;");
        }

        foreach (var op in ShiftOps)
        {
            Local(op + "=", $"x {op}= c;");
            Memory(op + "=", $"*q {op}= c;");
            foreach (var count in new[] { 1, 7, 9, 15, 17, 31, 33, 63, 65, -1 })
                Local(op + "=K", $"x {op}= {IntLiteral(count)};");
        }

        foreach (var k in new ulong[] { 1, 3, 0x80, t.MaxBits, t.MinBits, t.Mask, 0x5555_5555_5555_5555 }.Select(v => v & t.Mask).Distinct().Select(t.Literal))
        {
            Local("+=K", $"x += {k};");
            Local("-=K", $"x -= {k};");
            Local("*=K", $"x *= {k};");
            Local("^=K", $"x ^= {k};");
        }

        var divisors = new List<ulong> { 1, 2, 3, 7, 10, t.MaxBits, t.MaxBits - 1 };
        divisors.AddRange(t.Signed ? [t.Mask - 1, t.Mask - 2, t.MinBits, t.MinBits + 1] : [t.TopBit, t.Mask]);
        foreach (var d in divisors.Select(v => v & t.Mask).Distinct().Select(t.Literal))
        {
            Local("/=", $"x /= {d};");
            Local("%=", $"x %= {d};");
        }

        Memory("/=", $"*q /= {t.Literal(3)};");
        Memory("%=", $"*q %= {t.Literal(7)};");

        probes.Add(Probe.Stmt("x++", name, $"{{ {name} x = a; @OUT = x++; }}"));
        probes.Add(Probe.Stmt("++x", name, $"{{ {name} x = a; @OUT = ++x; }}"));
        probes.Add(Probe.Stmt("x--", name, $"{{ {name} x = a; @OUT = x--; }}"));
        probes.Add(Probe.Stmt("--x", name, $"{{ {name} x = a; @OUT = --x; }}"));
        Local("x++", "x++;");
        Local("x--", "x--;");
        Local("++x ++x", "++x; x++;");
        Local("x-- --x", "x--; --x;");
        probes.Add(Probe.Stmt("x++ + x", t.Promoted.Name, $"{{ {name} x = a; @OUT = x++ + x; }}"));
        probes.Add(Probe.Stmt("--x * x", t.Promoted.Name, $"{{ {name} x = a; @OUT = --x * x; }}"));
        Memory("(*q)++", "(*q)++;");
        Memory("++*q", "++*q;");
        Memory("(*q)--", "(*q)--;");
        Memory("--*q", "--*q;");
        Local("loop", $"for (int i = 0; i < 5; i++) {{ x += b; x ^= ({name})(x << 3); }}");
        Local("loop", $"for (int i = 0; i < (c & 7); i++) {{ x *= b; x -= ({name})i; }}");
        probes.Add(Probe.Stmt("mem (*q)++ value", name, $"{{ {name}* q = ({name}*)(data + 0); @OUT = (*q)++; *q = a; }}"));
        return probes;
    }

    private static List<Probe> Mixed(IntType t)
    {
        var probes = new List<Probe>();
        foreach (var u in IntType.All.Where(u => u != t))
        {
            var other = "b_" + u.Name;
            foreach (var op in ArithmeticOps.Concat(CompareOps))
                probes.Add(Probe.Expr(op + " mixed", $"a {op} {other}", mayBeInvalid: true));
            probes.Add(Probe.Expr("- mixed", $"{other} - a", mayBeInvalid: true));
            probes.Add(Probe.Expr("< mixed", $"{other} < a", mayBeInvalid: true));
            probes.Add(Probe.Expr("?: mixed", $"(c & 1) != 0 ? a : {other}", mayBeInvalid: true));
            // Compound assignment converts the right operand to the target's operator type, then narrows the result.
            foreach (var op in new[] { "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=" })
                probes.Add(Probe.Stmt(op + " mixed", t.Name, $"{{ {t.Name} x = a; x {op} {other}; @OUT = x; }}") with { MayBeInvalid = true });
        }

        return probes;
    }

    /// <summary>Untyped literals mixed with the type under test: C# picks a wider operator for some (uint &lt; -1 is a long compare).</summary>
    private static readonly string[] MixedLiterals = ["-1", "-129", "255", "0x7FFFFFFF", "0x80000000", "0xFFFFFFFF", "0x100000000", "-0x80000000L", "-0x80000001L"];

    private static List<Probe> Pattern(IntType t)
    {
        var probes = new List<Probe>();
        var constants = t.Constants();
        var literals = constants.Select(t.Literal).ToList();
        foreach (var k in literals)
        {
            probes.Add(Probe.Expr("is K", $"a is {k}", mayBeInvalid: true));
            probes.Add(Probe.Expr("is not K", $"a is not {k}", mayBeInvalid: true));
            probes.Add(Probe.Expr("is > K", $"a is > {k}", mayBeInvalid: true));
            probes.Add(Probe.Expr("is <= K", $"a is <= {k}", mayBeInvalid: true));
        }

        for (var i = 0; i + 1 < literals.Count; i++)
        {
            var (low, high) = t.ValueOf(constants[i]) < t.ValueOf(constants[i + 1]) || !t.Signed && constants[i] < constants[i + 1]
                ? (literals[i], literals[i + 1])
                : (literals[i + 1], literals[i]);
            probes.Add(Probe.Expr("is >= and <", $"a is >= {low} and < {high}", mayBeInvalid: true));
            probes.Add(Probe.Expr("is < or >", $"a is < {low} or > {high}", mayBeInvalid: true));
            probes.Add(Probe.Expr("switch expr", $"a switch {{ {literals[i]} => 1, {literals[i + 1]} => 2, > {low} => 3, _ => 4 }}", mayBeInvalid: true));
            probes.Add(Probe.Stmt("switch", "int",
                $"{{ int r; switch (a) {{ case {literals[i]}: r = 1; break; case {literals[i + 1]}: r = 2; break; default: r = 3; break; }} @OUT = r; }}")
                with { MayBeInvalid = true });
        }

        foreach (var literal in MixedLiterals)
        {
            foreach (var op in new[] { "+", "-", "&", "<", ">=", "==" })
                probes.Add(Probe.Expr(op + " lit", $"a {op} {literal}", mayBeInvalid: true));
        }

        return probes;
    }

    /// <summary>
    /// Random expression trees over a, b, c and the other types' views of b: casts, arithmetic, shifts, constant
    /// division, unary operators and conditionals, nested. Roslyn drops the ones C# rejects and types the rest.
    /// </summary>
    private static List<Probe> RandomExpressions(IntType t)
    {
        var random = new Random(1009 * t.Size + t.Name.Length * 17 + (t.Signed ? 3 : 0) + t.Name[^1]);
        var probes = new List<Probe>();
        for (var i = 0; i < 160; i++)
            probes.Add(Probe.Expr("random", RandomExpression(random, t, 3, allowConditional: true), mayBeInvalid: true));
        return probes;
    }

    /// <remarks>
    /// At most one conditional per expression: the verifier walks both arms of each, and nested or sibling
    /// conditionals whose values stay live multiply its paths past its million-instruction budget.
    /// </remarks>
    private static string RandomExpression(Random random, IntType t, int depth, bool allowConditional)
    {
        string Sub() => RandomExpression(random, t, depth - 1, allowConditional: false);
        IntType AnyType() => IntType.All[random.Next(IntType.All.Count)];
        if (depth == 0 || random.Next(5) == 0)
        {
            switch (random.Next(6))
            {
                case 0: return "a";
                case 1: return "b";
                case 2: return "c";
                case 3:
                    var other = AnyType();
                    return other == t ? "b" : "b_" + other.Name;
                default:
                    var type = random.Next(2) == 0 ? t : AnyType();
                    var values = type.Constants();
                    return type.Literal(values[random.Next(values.Count)]);
            }
        }

        switch (random.Next(allowConditional ? 12 : 10))
        {
            case 0 or 1 or 2 or 3:
                return $"({Sub()} {ArithmeticOps[random.Next(ArithmeticOps.Length)]} {Sub()})";
            case 4:
                var count = random.Next(2) == 0 ? IntLiteral(ShiftCounts[random.Next(ShiftCounts.Length)]) : $"(int){Sub()}";
                return $"({Sub()} {ShiftOps[random.Next(ShiftOps.Length)]} {count})";
            case 5 or 6:
                return $"(({AnyType().Name}){Sub()})";
            case 7:
                return random.Next(2) == 0 ? $"(~{Sub()})" : $"(-{Sub()})";
            case 8 or 9:
                var divisorType = AnyType();
                var divisor = (ulong)(long)(random.Next(5) switch { 0 => 2, 1 => 3, 2 => 7, 3 => 10, _ => 255 });
                if (divisorType.Signed && random.Next(3) == 0)
                    divisor = (ulong)-(long)divisor;
                if (random.Next(6) == 0)
                    divisor = divisorType.Signed ? divisorType.MinBits : divisorType.MaxBits;
                // Signed division by -1 is rejected by design; 255 is -1 as an sbyte.
                if (divisorType.ValueOf(divisor) is 0 or -1)
                    divisor = 3;
                return $"({Sub()} {(random.Next(2) == 0 ? "/" : "%")} {divisorType.Literal(divisor)})";
            default:
                return $"({Sub()} {CompareOps[random.Next(CompareOps.Length)]} {Sub()} ? {Sub()} : {Sub()})";
        }
    }

    private static string IntLiteral(int value) => value == int.MinValue ? "int.MinValue" : value.ToString(CultureInfo.InvariantCulture);
}
