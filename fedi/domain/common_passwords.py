"""Passwords and password stems that are guessed first by every attacker.

Two lists: whole passwords (from public leak statistics, English and Dutch), and stems that
people decorate with digits or symbols ("Welkom2024!", "password123"). Both are checked
case-insensitively. The list is short on purpose: the length and variety rules do most of
the work, this only stops the very obvious choices.
"""

from __future__ import annotations

_WHOLE = """
123456 123456789 12345678 1234567890 12345 1234567 123123 111111 000000 654321 666666 121212
987654321 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx 1qaz2wsx3edc zaq12wsx zaq1zaq1 qazwsx
qazwsxedc qwerty qwerty123 qwerty1234 qwertyuiop qwertyui asdfghjkl asdfghjk zxcvbnm
zxcvbnm123 azerty azertyuiop abc123 abcdef abcdefg abcdefgh abcdefghij abcd1234 a1b2c3d4
a1b2c3d4e5 aa123456 password password1 password12 password123 password1234 passw0rd
p@ssw0rd p@ssword pa55word pa$$word passwort passwort123 wachtwoord wachtwoord1
wachtwoord123 wachtwoord01 welkom welkom01 welkom123 welkom1234 welkom2020 welkom2021
welkom2022 welkom2023 welkom2024 welkom2025 welcome welcome1 welcome123 welcome2024
letmein letmein123 iloveyou iloveyou1 iloveyou123 ikhouvanjou monkey monkey123 dragon
dragon123 football football1 baseball basketball superman batman princess sunshine
shadow master master123 michael jennifer jordan23 hunter hunter2 trustno1 starwars
whatever freedom computer internet secret secret123 changeme changeme123 default
administrator admin admin123 admin1234 adminadmin root toor guest guest123 test test123
test1234 testtest tester testing testing123 loveyou lovely charlie charlie123 donald
pokemon minecraft fortnite liverpool chelsea arsenal manchester barcelona realmadrid
ajax ajax1900 feyenoord psv1913 amsterdam rotterdam utrecht nederland holland
holland123 oranje oranje123 voetbal voetbal123 zomer2024 winter2024 lente2024 herfst2024
voorjaar geheim geheim123 geheim1234 hallo hallo123 hallo1234 hoihoi doei
doeidoei poepje schatje liefde liefde123 vakantie konijn kat123 hond123 mijnwachtwoord
mijnnaam partup partup123 fediverse mastodon mastodon123 activitypub
0987654321 1111111111 2222222222 0000000000 1212121212 1234512345 1122334455
9876543210 1231231231 147258369 159753 159357 789456123 741852963 password! password!!
qwerty!@# 1qazxsw2 qweasdzxc qweasd123 asdasd asdasd123 asdf1234 asdfasdf qwer1234
qwerasdf zxcv1234 q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 1z2x3c4v 11223344 112233 123321
123qwe 123qweasd 123qweasdzxc 123abc 123456abc abc12345 abcabc abc123abc 1password
mypassword mypass123 letmein! welcome! opensesame access access123 login login123
user user123 username username123 sample demo demo1234 hello hello123 hello1234
helloworld goodluck happy123 happyday flower flower123 summer summer2024 winter
spring autumn january february september december maandag vrijdag zondag
""".split()

_STEMS = """
password passwort wachtwoord welkom welcome qwerty qwertz azerty asdf zxcv letmein iloveyou
ikhouvanjou admin administrator beheer beheerder root guest test geheim secret changeme
default monkey dragon football voetbal liverpool ajax feyenoord nederland holland
amsterdam rotterdam partup fediverse mastodon login user hello hallo abc abcdef
""".split()

COMMON_PASSWORDS = frozenset(word.lower() for word in _WHOLE)
COMMON_STEMS = frozenset(word.lower() for word in _STEMS)
